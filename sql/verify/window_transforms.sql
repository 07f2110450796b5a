-- The transform markers of a region that overlap a window, with the declarations each was built with, for
-- `pipeline verify` to find the parts of a loaded window not built by the models of now.
-- Parameters: region, window_start, window_end.
select ta.window_start, ta.window_end, ta.declared
from analytics.transform_audit as ta
where ta.region = %(region)s
  and ta.window_start < %(window_end)s
  and ta.window_end > %(window_start)s;
