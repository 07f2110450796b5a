-- A model's latest full refresh (`pipeline transform --full-refresh`): what `pipeline status` shows and
-- FullRefresh.complete() asks. Parameters: model.
select mr.fingerprint, mr.row_count, mr.seconds, mr.refreshed_at
from analytics.model_refreshes as mr
where mr.model = %(model)s
order by mr.refreshed_at desc
limit 1;
