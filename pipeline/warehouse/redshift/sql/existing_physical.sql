-- Redshift: the distribution and sort key columns of the tables in the pipeline's schemas (pg_attribute's
-- Redshift columns attisdistkey and attsortkeyord) and each column's compression encoding (svv_redshift_columns,
-- where RAW reads 'none'), as 'distkey=<column>', 'sortkey<n>=<column>' and 'encode:<column>=<encoding>', to
-- bring existing tables to their declaration (pipeline.warehouse.redshift.dialect.physical_plan).
-- {schemas}: bound values.
select n.nspname as schema_name, c.relname as table_name, 'distkey=' || a.attname as item
from pg_catalog.pg_attribute as a
inner join pg_catalog.pg_class as c on c."oid" = a.attrelid
inner join pg_catalog.pg_namespace as n on n."oid" = c.relnamespace
where n.nspname in ({schemas})
  and c.relkind = 'r'
  and a.attisdistkey
union all
select n.nspname, c.relname, 'sortkey' || a.attsortkeyord || '=' || a.attname
from pg_catalog.pg_attribute as a
inner join pg_catalog.pg_class as c on c."oid" = a.attrelid
inner join pg_catalog.pg_namespace as n on n."oid" = c.relnamespace
where n.nspname in ({schemas})
  and c.relkind = 'r'
  and a.attsortkeyord > 0
union all
select rc.schema_name, rc.table_name,
       'encode:' || rc.column_name || '=' || case when lower(rc.encoding) = 'none' then 'raw' else lower(rc.encoding) end
from svv_redshift_columns as rc
where rc.database_name = current_database()
  and rc.schema_name in ({schemas});
