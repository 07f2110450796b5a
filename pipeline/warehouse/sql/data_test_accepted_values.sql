-- A model's accepted_values data test: up to {sample} rows of {relation} whose {column} is none of the declared
-- values ({accepted}: one bound parameter each, accepted_0, accepted_1, ...).
select {key}, {column}
from {relation} as t
where {column} is not null
  and {column} not in ({accepted})
limit {sample}
