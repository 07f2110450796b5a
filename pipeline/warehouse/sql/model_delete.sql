-- The model's old rows of the touched keys, deleted before the rebuilt ones are inserted. An equi-join the
-- planner can hash; a NULL key matches nothing. A kind without DELETE ... USING gives its own model_delete.sql.
-- Identifiers: {table}, {touched}, {name} (the table's name unqualified), {matches} (key equality of {name}
-- and {touched}). Parameters: region.
delete from {table}
using {touched}
where {name}.region = %(region)s
  and {matches}
