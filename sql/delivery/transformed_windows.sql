-- Transformed windows of a region overlapping an export's interval, to check that it is complete before
-- rendering. Parameters: region, start, end (timestamps).
select ta.window_start, ta.window_end
from analytics.transform_audit as ta
where ta.region = %(region)s
  and ta.window_end > %(start)s
  and ta.window_start < %(end)s
order by ta.window_start;
