-- After a full refresh: every transformed window of every region holds the model as its definition of now
-- built it. Committed with the swap. Parameters: model, fingerprint, built_at.
delete from analytics.model_builds
where model = %(model)s;

insert into analytics.model_builds (region, window_start, window_end, model, fingerprint, built_at)
select ta.region, ta.window_start, ta.window_end, %(model)s, %(fingerprint)s, %(built_at)s
from analytics.transform_audit as ta;
