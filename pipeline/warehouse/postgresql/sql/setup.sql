-- PostgreSQL: Redshift's json_extract_path_text(varchar, path...) for the varchar JSON columns (JSON access),
-- so that the models (sql/models/) run unchanged on both warehouses (PostgreSQL's own takes json).
-- Missing keys give NULL here and '' on Redshift: the models wrap it in nullif(..., '').
create or replace function public.json_extract_path_text(from_json varchar, variadic path_elems text[])
returns text language sql immutable parallel safe
as $$ select pg_catalog.json_extract_path_text(from_json::json, variadic path_elems) $$;
