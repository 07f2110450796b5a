-- Which definition of each model built one transformed window, and when: TransformWindow asks whether every
-- model of now built it. Parameters: region, window_start, window_end.
select mb.model, mb.fingerprint, mb.built_at
from analytics.model_builds as mb
where mb.region = %(region)s
  and mb.window_start = %(window_start)s
  and mb.window_end = %(window_end)s;
