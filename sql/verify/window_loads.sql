-- The windows of a region loaded over a window (any length: a backfill's day, sync's 5 minutes), for `pipeline
-- verify` to check that each is transformed with the models of now. Parameters: region, window_start,
-- window_end.
select distinct la.window_start, la.window_end
from "raw".load_audit as la
where la.region = %(region)s
  and la.window_start < %(window_end)s
  and la.window_end > %(window_start)s;
