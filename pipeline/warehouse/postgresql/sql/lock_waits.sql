-- PostgreSQL: the pipeline's sessions waiting for a lock now, with the table they wait for and each session
-- holding them up, for `pipeline status`. Parameters: application (the pipeline's application_name).
select
    waiting.pid as waiting_pid,
    waiting.query_start as waiting_since,
    cast(cast(wanted.relation as regclass) as text) as wanted_table,
    holder.pid as holder_pid,
    holder.usename as holder_user,
    holder.application_name as holder_application,
    holder.xact_start as holder_since
from pg_stat_activity as waiting
cross join lateral unnest(pg_blocking_pids(waiting.pid)) as blocking (pid)
inner join pg_stat_activity as holder
    on holder.pid = blocking.pid
left join pg_locks as wanted
    on wanted.pid = waiting.pid
    and not wanted.granted
    and wanted.relation is not null
where waiting.application_name = %(application)s
  and waiting.wait_event_type = 'Lock'
order by waiting.query_start, waiting.pid;
