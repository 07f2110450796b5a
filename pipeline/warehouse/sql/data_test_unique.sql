-- A model's unique data test: up to {sample} of its key values that repeat in {relation} (the model's table,
-- or the rows a window rebuilt). Identifiers: {columns} (the tested columns, as t.<column>).
select {columns}, count(*) as copies
from {relation} as t
group by {columns}
having count(*) > 1
limit {sample}
