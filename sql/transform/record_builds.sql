-- Record that one model was built with one definition for every transformed window of a region inside a span
-- (a window's own transform: the span is the window; `pipeline transform`: a whole day, say). Committed with
-- the rows it describes. Parameters: region, span_start, span_end, model, fingerprint, built_at.
delete from analytics.model_builds
where region = %(region)s
  and model = %(model)s
  and window_start >= %(span_start)s
  and window_end <= %(span_end)s;

insert into analytics.model_builds (region, window_start, window_end, model, fingerprint, built_at)
select ta.region, ta.window_start, ta.window_end, %(model)s, %(fingerprint)s, %(built_at)s
from analytics.transform_audit as ta
where ta.region = %(region)s
  and ta.window_start >= %(span_start)s
  and ta.window_end <= %(span_end)s;
