-- Is this window transformed with the sources and models declared now, since done_after (the epoch, or the
-- start of a `backfill --rerun`)? TransformWindow.complete() asks. A window transformed before a source or
-- model was added is not: a backfill then loads and builds it.
-- Parameters: region, window_start, window_end, declared (pipeline.catalog.Catalog.signature), done_after.
select count(*)
from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s
  and declared = %(declared)s
  and transformed_at >= %(done_after)s;
