-- The latest delivery of each export, for `pipeline export list`. Parameters: none.
with ranked as (
    select
        d.export_name,
        d.interval_start,
        d.interval_end,
        d.status,
        d.delivered_at,
        row_number() over (partition by d.export_name order by d.interval_end desc, d.delivered_at desc) as recency
    from exports.deliveries as d
)

select r.export_name, r.interval_start, r.interval_end, r.status, r.delivered_at
from ranked as r
where r.recency = 1;
