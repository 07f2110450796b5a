-- Is this window loaded? LoadWindow.complete() asks. Parameters: region, collection, window_start, window_end.
select count(*)
from "raw".load_audit
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;
