-- Record a window's load in raw.load_audit: LoadWindow's completion marker, committed with the merge.
-- A rerun of the same window replaces its row (and its drift and quarantine rows, which pipeline.load
-- inserts next), and the window's transform marker goes in the same
-- transaction: its models are stale until the window is transformed again, for sync, backfill and exports
-- alike, even if that transform fails. Parameters: region, collection, window_start, window_end,
-- extracted, quarantined, staged, inserted, kept_newer, manifest_url, loaded_at.
delete from "raw".load_audit
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

delete from "raw".load_drift
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

delete from "raw".load_quarantine
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

insert into "raw".load_audit
    (region, collection, window_start, window_end, extracted, quarantined, staged, inserted, kept_newer,
     manifest_url, loaded_at)
values
    (%(region)s, %(collection)s, %(window_start)s, %(window_end)s, %(extracted)s, %(quarantined)s,
     %(staged)s, %(inserted)s, %(kept_newer)s, %(manifest_url)s, %(loaded_at)s);

delete from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;
