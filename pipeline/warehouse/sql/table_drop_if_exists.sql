-- A full refresh's shadow table that a failed refresh may have left. Identifiers: {table}.
drop table if exists {table}
