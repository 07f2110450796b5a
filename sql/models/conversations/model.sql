-- Model analytics.conversations (see model.yml): one row per conversation with its message counts.
-- Reads only the conversations this window touched ({touched}). Parameters: region.
with touched as (
    select t.conversation_id
    from {touched} as t
),

conversations as (
    select c.*
    from "raw".conversations as c
    inner join touched as t on t.conversation_id = c._id
    where c.region = %(region)s
),

message_counts as (
    select
        m.conversation_id,
        count(*) as message_count,
        sum(case when m.sender = 'bot' then 1 else 0 end) as bot_message_count,
        sum(case when m.sender = 'chatter' then 1 else 0 end) as chatter_message_count,
        min(case when m.sender = 'chatter' then m.created_at end) as first_chatter_message_at
    from "raw".messages as m
    inner join touched as t on t.conversation_id = m.conversation_id
    where m.region = %(region)s
    group by m.conversation_id
)

select
    c._id as conversation_id,
    c.region,
    c.client_id,
    c."language",
    c.device,
    c.platform,
    nullif(json_extract_path_text(c.meta, 'country'), '') as country,
    coalesce(c.created_at, c.updated_at) as started_at,
    cast(coalesce(c.created_at, c.updated_at) as date) as started_date,
    coalesce(mc.message_count, 0) as message_count,
    coalesce(mc.bot_message_count, 0) as bot_message_count,
    coalesce(mc.chatter_message_count, 0) as chatter_message_count,
    case when coalesce(mc.chatter_message_count, 0) > 0 then true else false end as chatter_responded,
    mc.first_chatter_message_at,
    case when c.created_at is null then true else false end as started_at_estimated
from conversations as c
left join message_counts as mc on mc.conversation_id = c._id
