-- What a transformed window's marker says it was transformed with (none: not transformed). A repair
-- (reconcile, quarantine replay) transforms the window again with the same, so that a source added since is
-- still loaded by the next backfill. Parameters: region, window_start, window_end.
select ta.declared
from analytics.transform_audit as ta
where ta.region = %(region)s
  and ta.window_start = %(window_start)s
  and ta.window_end = %(window_end)s;
