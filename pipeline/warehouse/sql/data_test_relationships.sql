-- A model's relationships data test: up to {sample} rows of {relation} whose {column} has no row of the same
-- region in {to_table} with that value in {to_column} (as p.<column>).
select {key}, {column}
from {relation} as t
where {column} is not null
  and not exists (
    select 1
    from {to_table} as p
    where p.region = t.region
      and {to_column} = {column}
  )
limit {sample}
