-- Export: one client's most shown bot answers in the interval, the top 20 per conversation language.
-- Grain: (language, answer_id). Input: analytics.answer_usage_daily.
-- Parameters: client_id; start, end (dates, end exclusive: set by each run).
with usage as (
    select
        aud."language",
        aud.answer_id,
        max(aud.answer_title) as answer_title,
        sum(aud.times_shown) as times_shown
    from analytics.answer_usage_daily as aud
    where aud.client_id = %(client_id)s
      and aud.metric_date >= %(start)s
      and aud.metric_date < %(end)s
    group by aud."language", aud.answer_id
),

ranked as (
    select
        u."language",
        u.answer_id,
        u.answer_title,
        u.times_shown,
        row_number() over (partition by u."language" order by u.times_shown desc, u.answer_id) as rank_in_language
    from usage as u
)

select
    r."language",
    r.rank_in_language,
    r.answer_title,
    r.times_shown,
    r.answer_id
from ranked as r
where r.rank_in_language <= 20
order by r."language", r.rank_in_language;
