-- How many of the pipeline's tables exist: ensure_schema skips its DDL when all do, so that parallel
-- workers do not race on CREATE statements. Works on PostgreSQL and Redshift.
select count(*)
from information_schema.tables
where table_schema in ('raw', 'analytics', 'exports', 'ops');
