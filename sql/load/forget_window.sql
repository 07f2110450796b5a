-- Forget that one (region, window) was loaded and transformed, so `pipeline backfill --rerun` redoes it.
-- The data stays: the rerun's merge replaces it. Parameters: region, window_start, window_end.
delete from "raw".load_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

delete from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;
