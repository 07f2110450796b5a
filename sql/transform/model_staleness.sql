-- For `pipeline status`: the transformed windows (all regions) that one model's definition of now has not
-- built, how many and from when to when. Parameters: model, fingerprint.
select count(*) as stale_windows, min(ta.window_start) as stale_since, max(ta.window_end) as stale_until
from analytics.transform_audit as ta
left join analytics.model_builds as mb
    on mb.region = ta.region
    and mb.window_start = ta.window_start
    and mb.window_end = ta.window_end
    and mb.model = %(model)s
where mb.fingerprint is null
   or mb.fingerprint <> %(fingerprint)s;
