-- A model's not_null data test: the unique keys ({key}, as t.<column>) of up to {sample} rows of {relation}
-- whose {column} is NULL.
select {key}
from {relation} as t
where {column} is null
limit {sample}
