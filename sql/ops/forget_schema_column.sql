-- A recorded column that is neither declared nor in the warehouse any more (removed from its declaration and
-- dropped): forgotten, so that declaring it again adds it. Parameters: table_name, column_name.
delete from ops.schema_columns
where table_name = %(table_name)s
  and column_name = %(column_name)s;
