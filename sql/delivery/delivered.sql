-- Was this export delivered (or skipped as empty) for this interval? DeliverExport.complete() asks.
-- Parameters: export_name, interval_start, interval_end.
select count(*)
from exports.deliveries
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s;
