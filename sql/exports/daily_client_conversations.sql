-- Export: one client's conversations started in the interval, one row per conversation.
-- Grain: conversation. Input: analytics.conversations.
-- Parameters: client_id; start, end (dates, end exclusive: set by each run).
select
    c.started_at,
    c.conversation_id,
    c.region,
    c."language",
    c.device,
    c.platform,
    c.country,
    c.message_count,
    c.chatter_message_count,
    c.chatter_responded
from analytics.conversations as c
where c.client_id = %(client_id)s
  and c.started_date >= %(start)s
  and c.started_date < %(end)s
order by c.started_at, c.conversation_id;
