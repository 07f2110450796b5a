-- Export: one client's engagement in the interval by language and device.
-- Grain: (language, device). Input: analytics.daily_conversation_metrics.
-- Parameters: client_id; start, end (dates, end exclusive: set by each run).
-- engagement_rate is a fraction (0.25 shows as 25 percent in the XLSX, whose column is declared a percent).
select
    dcm."language",
    dcm.device,
    sum(dcm.conversations) as conversations,
    sum(dcm.engaged_conversations) as engaged_conversations,
    round(1.0 * sum(dcm.engaged_conversations) / nullif(sum(dcm.conversations), 0), 4) as engagement_rate,
    sum(dcm.messages) as messages
from analytics.daily_conversation_metrics as dcm
where dcm.client_id = %(client_id)s
  and dcm.metric_date >= %(start)s
  and dcm.metric_date < %(end)s
group by dcm."language", dcm.device
order by conversations desc, dcm."language", dcm.device;
