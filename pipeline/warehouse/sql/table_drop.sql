-- A temp table of a rebuild, or a shadow a failed refresh left. Identifiers: {table}.
drop table if exists {table}
