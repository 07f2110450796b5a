-- Least-privilege users for the pipeline on Redshift. Run once as a superuser; passwords are set
-- separately (ALTER USER ... PASSWORD) from the secret store, never written here.
-- loader: writes raw and analytics (and the exports/ops bookkeeping); dashboard and exporter read analytics.
create group loaders;
create group dashboard;
create group exporters;

create user pipeline_loader in group loaders password disable;
create user dashboard_reader in group dashboard password disable;
create user export_reader in group exporters password disable;

create schema if not exists "raw" authorization pipeline_loader;
create schema if not exists analytics authorization pipeline_loader;
create schema if not exists exports authorization pipeline_loader;
create schema if not exists ops authorization pipeline_loader;

grant usage on schema analytics to group dashboard, group exporters;
grant select on all tables in schema analytics to group dashboard, group exporters;
alter default privileges for user pipeline_loader in schema analytics
    grant select on tables to group dashboard, group exporters;

-- Export runs record their deliveries, so the exporter may write there and nowhere else.
grant usage on schema exports to group exporters;
grant select, insert on all tables in schema exports to group exporters;
alter default privileges for user pipeline_loader in schema exports grant select, insert on tables to group exporters;

revoke all on schema "raw" from public;
revoke all on schema ops from public;
