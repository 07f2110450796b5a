-- The rows of a table (a model's touched keys, a refreshed model). Identifiers: {table}.
select count(*) from {table}
