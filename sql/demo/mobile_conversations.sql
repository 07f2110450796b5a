-- Demo question 2: how many conversations happened on a mobile device, per region.
-- Input: analytics.daily_conversation_metrics. Grain of the answer: region.
select
    dcm.region,
    sum(case when dcm.device = 'mobile' then dcm.conversations else 0 end) as mobile_conversations,
    round(100.0 * sum(case when dcm.device = 'mobile' then dcm.conversations else 0 end)
          / nullif(sum(dcm.conversations), 0), 1) as mobile_pct
from analytics.daily_conversation_metrics as dcm
group by dcm.region
order by dcm.region;
