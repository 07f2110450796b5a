-- Demo question 1: how many conversations started, and how many got a chatter response, per region.
-- Input: analytics.daily_conversation_metrics. Grain of the answer: region.
select
    dcm.region,
    sum(dcm.conversations) as conversations_started,
    sum(dcm.engaged_conversations) as chatter_responded,
    round(100.0 * sum(dcm.engaged_conversations) / nullif(sum(dcm.conversations), 0), 1) as responded_pct
from analytics.daily_conversation_metrics as dcm
group by dcm.region
order by dcm.region;
