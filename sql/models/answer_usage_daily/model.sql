-- Model analytics.answer_usage_daily (see model.yml): bot answers shown per day and conversation language.
-- Rebuilds the (region, metric_date) slices in {touched}. Parameters: region.
-- A day's messages are read by range on created_at (an index on PostgreSQL, the sort order on Redshift):
-- the cost follows the days rebuilt, not the history. A message without created_at counts on the day of
-- its last update (the documented rule), read by range on updated_at.
with days as (
    select distinct cast(t.metric_date as timestamp) as day_start
    from {touched} as t
),

dated as (
    select m.created_at as shown_at, m.region, m.client_id, m.conversation_id, m.answer_id, m.sender
    from days as d
    inner join "raw".messages as m
        on m.region = %(region)s
        and m.created_at >= d.day_start
        and m.created_at < d.day_start + interval '1 day'
    union all
    select m.updated_at as shown_at, m.region, m.client_id, m.conversation_id, m.answer_id, m.sender
    from days as d
    inner join "raw".messages as m
        on m.region = %(region)s
        and m.created_at is null
        and m.updated_at >= d.day_start
        and m.updated_at < d.day_start + interval '1 day'
),

shown as (
    select
        cast(dm.shown_at as date) as metric_date,
        dm.region,
        dm.client_id,
        dm.conversation_id,
        dm.answer_id
    from dated as dm
    where dm.sender = 'bot'
      and dm.answer_id is not null
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
