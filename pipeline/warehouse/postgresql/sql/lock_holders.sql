-- PostgreSQL: the other sessions holding a lock on a table, for the error that ends a wait longer than
-- [warehouse] lock_timeout_seconds (pipeline.warehouse.base.Warehouse.lock). Parameters: table.
select distinct activity.pid, activity.usename as user_name, activity.application_name as application,
    cast(activity.client_addr as text) as client, activity.xact_start as since, activity.state
from pg_locks as held
inner join pg_stat_activity as activity
    on activity.pid = held.pid
where held.granted
  and held.relation = cast(%(table)s as regclass)
  and held.pid <> pg_backend_pid()
order by activity.pid;
