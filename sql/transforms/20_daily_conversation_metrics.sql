-- Model analytics.daily_conversation_metrics: conversations, engaged conversations (a chatter responded)
-- and their messages per day and dimension.
-- Grain: (metric_date = started_date, region, client_id, language, device, platform).
-- Inputs: analytics.conversations; touched_conversations, touched_metric_dates (00_touched.sql).
-- Incremental: the (region, metric_date) slices the touched conversations were or are in are rebuilt.
-- Parameters: region.
insert into touched_metric_dates (metric_date)
select distinct ac.started_date
from analytics.conversations as ac
where ac.region = %(region)s
  and ac.conversation_id in (select conversation_id from touched_conversations);

delete from analytics.daily_conversation_metrics
where region = %(region)s
  and metric_date in (select metric_date from touched_metric_dates);

insert into analytics.daily_conversation_metrics
    (metric_date, region, client_id, "language", device, platform, conversations, engaged_conversations,
     messages)
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
  and ac.started_date in (select metric_date from touched_metric_dates)
group by ac.started_date, ac.region, ac.client_id, ac."language", ac.device, ac.platform;
