-- Is this window transformed with the sources declared now, since done_after (the epoch, or the start of a
-- `backfill --rerun`)? TransformWindow.complete() asks, with whether every model of now built it
-- (transform/span_builds.sql). A window transformed before a source was added is not: a backfill then loads
-- it. An older release wrote 'sources: ...; models: ...'; the models part no longer counts here.
-- Parameters: region, window_start, window_end, declared (pipeline.catalog.Catalog.signature), done_after.
select count(*)
from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s
  and split_part(declared, '; models: ', 1) = %(declared)s
  and transformed_at >= %(done_after)s;
