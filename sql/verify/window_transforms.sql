-- The transform markers of a region that overlap a window, with the sources each was transformed with and the
-- model builds of each (one row per model built; none for a window no model built), for `pipeline verify` to
-- find the parts of a loaded window not built by the models of now.
-- Parameters: region, window_start, window_end.
select ta.window_start, ta.window_end, split_part(ta.declared, '; models: ', 1) as sources, mb.model, mb.fingerprint
from analytics.transform_audit as ta
left join analytics.model_builds as mb
    on mb.region = ta.region
    and mb.window_start = ta.window_start
    and mb.window_end = ta.window_end
where ta.region = %(region)s
  and ta.window_start < %(window_end)s
  and ta.window_end > %(window_start)s;
