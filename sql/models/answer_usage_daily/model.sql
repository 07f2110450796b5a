-- Model analytics.answer_usage_daily (see model.yml): bot answers shown per day and conversation language.
-- Rebuilds the (region, metric_date) slices in {touched}. Parameters: region.
with shown as (
    select
        cast(coalesce(m.created_at, m.updated_at) as date) as metric_date,
        m.region,
        m.client_id,
        m.conversation_id,
        m.answer_id
    from "raw".messages as m
    where m.region = %(region)s
      and m.sender = 'bot'
      and m.answer_id is not null
      and cast(coalesce(m.created_at, m.updated_at) as date) in (select t.metric_date from {touched} as t)
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
