-- The transformed windows of a region overlapping [start, end) that one model's definition of now has not
-- built (since done_after: the start of a `transform --model`), oldest first: what `pipeline transform` plans.
-- Parameters: region, start, end, model, fingerprint, done_after.
select ta.window_start, ta.window_end
from analytics.transform_audit as ta
left join analytics.model_builds as mb
    on mb.region = ta.region
    and mb.window_start = ta.window_start
    and mb.window_end = ta.window_end
    and mb.model = %(model)s
where ta.region = %(region)s
  and ta.window_start < %(end)s
  and ta.window_end > %(start)s
  and (mb.fingerprint is null or mb.fingerprint <> %(fingerprint)s or mb.built_at < %(done_after)s)
order by ta.window_start, ta.window_end;
