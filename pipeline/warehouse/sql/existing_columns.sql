-- The columns of the tables in the pipeline's schemas as they are, to compare with the declarations.
-- {schemas}: one bound value per schema (%(schema_0)s, ...), filled in by pipeline.warehouse.schema.
-- pg_catalog rather than information_schema: the latter lists only tables the user may use, so a read-only
-- user (exports) would see none and try DDL. format_type gives e.g. 'character varying(24)'. Both kinds
-- have these catalogs.
select n.nspname as schema_name, c.relname as table_name, a.attname as column_name,
    format_type(a.atttypid, a.atttypmod) as column_type
from pg_catalog.pg_attribute as a
inner join pg_catalog.pg_class as c on c."oid" = a.attrelid
inner join pg_catalog.pg_namespace as n on n."oid" = c.relnamespace
where n.nspname in ({schemas})
  and c.relkind = 'r'
  and a.attnum > 0
  and not a.attisdropped
order by n.nspname, c.relname, a.attnum;
