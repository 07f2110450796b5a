-- PostgreSQL: the indexes of the tables in the pipeline's schemas, by name, to create the declared ones that
-- are missing (pipeline.warehouse.postgresql.dialect.physical_plan). {schemas}: bound values.
select i.schemaname as schema_name, i.tablename as table_name, i.indexname as item
from pg_catalog.pg_indexes as i
where i.schemaname in ({schemas});
