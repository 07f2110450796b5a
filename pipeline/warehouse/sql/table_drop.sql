-- A table a rebuild made (a temp table of touched keys or rebuilt rows), or a model's table a full refresh
-- replaces. Plain DROP: a table that is not there is a fault to report. Identifiers: {table}.
drop table {table}
