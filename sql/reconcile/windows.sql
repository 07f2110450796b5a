-- `pipeline reconcile`: the transformed windows of a region that overlap [start, end], with what they were
-- transformed with; the ones holding a deleted document's cursor are transformed again, with the same
-- `declared`. Parameters: region, start, end.
select ta.window_start, ta.window_end, ta.declared
from analytics.transform_audit as ta
where ta.region = %(region)s
  and ta.window_start <= %(end)s
  and ta.window_end > %(start)s
order by ta.window_start;
