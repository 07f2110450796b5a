-- For `pipeline status`: the transformed windows (all regions) that one model's definition of now has not
-- built, how many and from when to when. Parameters: model, fingerprint.
select count(*), min(ta.window_start), max(ta.window_end)
from analytics.transform_audit as ta
left join analytics.model_builds as mb
    on mb.region = ta.region
    and mb.window_start = ta.window_start
    and mb.window_end = ta.window_end
    and mb.model = %(model)s
where mb.fingerprint is null
   or mb.fingerprint <> %(fingerprint)s;
