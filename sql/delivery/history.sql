-- The deliveries of one export, newest interval first, for the console's page of it.
-- Parameters: export_name.
select
    d.interval_start,
    d.interval_end,
    d.status,
    d.recipients,
    d.row_count,
    d.attached,
    d.delivered_at,
    d.refused
from exports.deliveries as d
where d.export_name = %(export_name)s
order by d.interval_start desc, d.delivered_at desc
limit 100;
