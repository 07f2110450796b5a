-- A full refresh's shadow table takes the model's name, in the transaction that dropped the old table.
-- Identifiers: {shadow} (schema-qualified), {name} (the model's name, unqualified).
alter table {shadow} rename to {name}
