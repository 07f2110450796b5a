-- The failed delivery attempts of one export, newest first, and whether the interval was delivered since.
-- Parameters: export_name.
select
    f.interval_start,
    f.interval_end,
    f.failed_at,
    f.reason,
    f.retry,
    d.delivered_at as delivered_since
from exports.delivery_failures as f
left join exports.deliveries as d
    on d.export_name = f.export_name
    and d.interval_start = f.interval_start
    and d.interval_end = f.interval_end
    and d.status <> 'sending'
    and d.delivered_at > f.failed_at
where f.export_name = %(export_name)s
order by f.failed_at desc
limit 50;
