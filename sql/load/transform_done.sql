-- Is this window transformed? TransformWindow.complete() asks. Parameters: region, window_start, window_end.
select count(*)
from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;
