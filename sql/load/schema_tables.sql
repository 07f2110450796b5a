-- How many of the pipeline's tables exist: ensure_schema skips its DDL when all do, so that parallel
-- workers do not race on CREATE statements. pg_tables, not information_schema: the latter lists only
-- tables the user may use, and a read-only user (exports) would then try the DDL. Both warehouses have it.
select count(*)
from pg_tables
where schemaname in ('raw', 'analytics', 'exports', 'ops');
