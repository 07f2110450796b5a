-- After a replay merged a window's rows: count what it inserted, and drop the window's transform marker so
-- sync, backfill and exports take it as not transformed until the replay's transform commits.
-- Parameters: region, collection, window_start, window_end, inserted.
update "raw".load_audit
set inserted = inserted + %(inserted)s,
    kept_newer = staged - (inserted + %(inserted)s)
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

delete from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;
