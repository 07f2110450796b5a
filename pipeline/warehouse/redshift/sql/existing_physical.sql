-- Redshift: the distribution and sort key columns of the tables in the pipeline's schemas (pg_attribute's
-- Redshift columns attisdistkey and attsortkeyord), as 'distkey=<column>' and 'sortkey<n>=<column>', to
-- bring existing tables to their declared keys (pipeline.warehouse.redshift.dialect.physical_plan).
-- {schemas}: bound values.
select n.nspname, c.relname, 'distkey=' || a.attname
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
  and a.attsortkeyord > 0;
