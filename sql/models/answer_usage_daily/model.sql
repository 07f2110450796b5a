-- Model analytics.answer_usage_daily (see model.yml): bot answers shown per day and conversation language.
-- Rebuilds the (region, metric_date) slices in {touched}. Parameters: region.
-- A message counts on its created_at day, else (the documented rule) on the day of its last update. The day
-- is compared by equality with the very expression PostgreSQL indexes (sql/sources/messages.yml), so it
-- reads only the touched days and estimates them right: a day joins its conversations by index, not by
-- scanning all of analytics.conversations (0.08 s instead of 0.5 s for a day over 10M rows of history).
with shown as (
    select
        cast(coalesce(m.created_at, m.updated_at) as date) as metric_date,
        m.region,
        m.client_id,
        m.conversation_id,
        m.answer_id
    from (select distinct t.metric_date from {touched} as t) as days
    inner join "raw".messages as m
        on m.region = %(region)s
        and cast(coalesce(m.created_at, m.updated_at) as date) = days.metric_date
    where m.sender = 'bot'
      and m.answer_id is not null
)

select
    s.metric_date,
    s.region,
    s.client_id,
    ac."language",
    s.answer_id,
    a.title as answer_title,
    count(*) as times_shown
from shown as s
inner join analytics.conversations as ac on ac.region = s.region and ac.conversation_id = s.conversation_id
left join "raw".answers as a on a.region = s.region and a._id = s.answer_id
group by s.metric_date, s.region, s.client_id, ac."language", s.answer_id, a.title
