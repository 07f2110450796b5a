-- The latest failed attempt of each export whose interval was not delivered since, for `pipeline export list`
-- and `pipeline status`. Parameters: since (timestamp).
with latest as (
    select
        f.export_name,
        f.interval_start,
        f.interval_end,
        f.failed_at,
        f.reason,
        f.retry,
        row_number() over (partition by f.export_name order by f.failed_at desc) as recency
    from exports.delivery_failures as f
    where f.failed_at >= %(since)s
)

select l.export_name, l.interval_start, l.interval_end, l.failed_at, l.reason, l.retry
from latest as l
where l.recency = 1
  and not exists (
      select 1
      from exports.deliveries as d
      where d.export_name = l.export_name
        and d.interval_start = l.interval_start
        and d.interval_end = l.interval_end
        and d.status <> 'sending'
        and d.delivered_at > l.failed_at
  )
order by l.export_name;
