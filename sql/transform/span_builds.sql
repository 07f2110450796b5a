-- The transformed windows of a region inside a span, each with its builds (one row per model that built it;
-- one row of nulls for a window no model built): BuildModels and TransformWindow are done when every model of
-- now built every such window. Parameters: region, span_start, span_end.
select ta.window_start, ta.window_end, mb.model, mb.fingerprint, mb.built_at
from analytics.transform_audit as ta
left join analytics.model_builds as mb
    on mb.region = ta.region
    and mb.window_start = ta.window_start
    and mb.window_end = ta.window_end
where ta.region = %(region)s
  and ta.window_start >= %(span_start)s
  and ta.window_end <= %(span_end)s;
