-- PostgreSQL: the pipeline's sessions waiting for a lock now, with the table they wait for and each session
-- holding them up, for `pipeline status`. Parameters: application (the pipeline's application_name).
select
    waiting.pid,
    waiting.query_start,
    cast(cast(wanted.relation as regclass) as text),
    holder.pid,
    holder.usename,
    holder.application_name,
    holder.xact_start
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
