-- What `pipeline sync` has done for a region: the start of its first and the end of its latest transformed
-- window. Sync walks every window from the earlier of that end and its retry horizon (never before that
-- start), skipping those already transformed, so a failed window is retried instead of stepped over.
-- Parameters: region.
select min(ta.window_start) as first_start, max(ta.window_end) as last_end
from analytics.transform_audit as ta
where ta.region = %(region)s;
