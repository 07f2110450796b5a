-- A model's rows for its touched keys: model.sql ({select}, the project's SQL) into {rows}, a temp table the data
-- tests read before the rows replace the old ones. Identifiers: {rows}, {columns} (the declared columns).
create temp table {rows} as
select {columns}
from (
{select}
) as model_rows
