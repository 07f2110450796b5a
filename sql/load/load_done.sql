-- Is this window loaded (since done_after: the epoch, or the start of a `backfill --rerun`)?
-- LoadWindow.complete() asks. Parameters: region, collection, window_start, window_end, done_after.
select count(*)
from "raw".load_audit
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s
  and loaded_at >= %(done_after)s;
