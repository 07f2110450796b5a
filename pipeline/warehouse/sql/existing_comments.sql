-- The comments (COMMENT ON) of the tables in the pipeline's schemas and of their columns, to compare with
-- the descriptions in the declarations. The column is '' for a table's own comment. {schemas}: bound values,
-- as in existing_columns.sql. Both kinds keep comments in pg_description.
select n.nspname as schema_name, c.relname as table_name, coalesce(a.attname, '') as column_name, d.description
from pg_catalog.pg_description as d
inner join pg_catalog.pg_class as c on c."oid" = d.objoid
inner join pg_catalog.pg_namespace as n on n."oid" = c.relnamespace
left join pg_catalog.pg_attribute as a on a.attrelid = c."oid" and a.attnum = d.objsubid and d.objsubid > 0
where n.nspname in ({schemas})
  and c.relkind = 'r'
order by n.nspname, c.relname;
