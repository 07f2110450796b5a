-- How many transformed windows of a region inside a span one model's definition of now has not built (since
-- done_after): BuildModels is done when none. Parameters: region, span_start, span_end, model, fingerprint,
-- done_after.
select count(*)
from analytics.transform_audit as ta
left join analytics.model_builds as mb
    on mb.region = ta.region
    and mb.window_start = ta.window_start
    and mb.window_end = ta.window_end
    and mb.model = %(model)s
where ta.region = %(region)s
  and ta.window_start >= %(span_start)s
  and ta.window_end <= %(span_end)s
  and (mb.fingerprint is null or mb.fingerprint <> %(fingerprint)s or mb.built_at < %(done_after)s);
