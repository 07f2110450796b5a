-- Was this export delivered (sent, partial or skipped as empty) for this interval, or is a run delivering
-- it now (a claim newer than stale_before)? DeliverExport.complete() asks.
-- Parameters: export_name, interval_start, interval_end, stale_before.
select count(*)
from exports.deliveries
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s
  and (status <> 'sending' or claimed_at >= %(stale_before)s);
