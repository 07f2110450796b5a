-- Model analytics.daily_conversation_metrics (see model.yml): daily counts per dimension.
-- Rebuilds the (region, metric_date) slices in {touched} from analytics.conversations. Parameters: region.
select
    ac.started_date as metric_date,
    ac.region,
    ac.client_id,
    ac."language",
    ac.device,
    ac.platform,
    count(*) as conversations,
    sum(case when ac.chatter_responded then 1 else 0 end) as engaged_conversations,
    sum(ac.message_count) as messages
from analytics.conversations as ac
where ac.region = %(region)s
  and ac.started_date in (select t.metric_date from {touched} as t)
group by ac.started_date, ac.region, ac.client_id, ac."language", ac.device, ac.platform
