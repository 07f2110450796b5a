-- The windows of a region transformed since a moment, to skip them without a query per window.
-- Parameters: region, since.
select ta.window_start, ta.window_end
from analytics.transform_audit as ta
where ta.region = %(region)s
  and ta.window_end > %(since)s;
