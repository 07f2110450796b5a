-- Model analytics.answer_usage_daily: how often each bot answer was shown, per day and language.
-- Grain: (metric_date = message date, region, client_id, language of the conversation, answer_id).
-- Inputs: raw.messages, raw.conversations, raw.answers; touched_conversations, touched_answers.
-- Incremental: the (region, message date) slices holding messages of touched conversations or uses of
-- touched answers are rebuilt. Parameters: region.
create temp table touched_usage_dates as
select distinct cast(m.created_at as date) as metric_date
from "raw".messages as m
where m.region = %(region)s
  and m.answer_id is not null
  and (
      m.conversation_id in (select conversation_id from touched_conversations)
      or m.answer_id in (select answer_id from touched_answers)
  );

delete from analytics.answer_usage_daily
where region = %(region)s
  and metric_date in (select metric_date from touched_usage_dates);

insert into analytics.answer_usage_daily
    (metric_date, region, client_id, "language", answer_id, answer_title, times_shown)
with shown as (
    select
        cast(m.created_at as date) as metric_date,
        m.region,
        m.client_id,
        m.conversation_id,
        m.answer_id
    from "raw".messages as m
    where m.region = %(region)s
      and m.sender = 'bot'
      and m.answer_id is not null
      and cast(m.created_at as date) in (select metric_date from touched_usage_dates)
)

select
    s.metric_date,
    s.region,
    s.client_id,
    c."language",
    s.answer_id,
    a.title as answer_title,
    count(*) as times_shown
from shown as s
inner join "raw".conversations as c on c.region = s.region and c._id = s.conversation_id
left join "raw".answers as a on a.region = s.region and a._id = s.answer_id
group by s.metric_date, s.region, s.client_id, c."language", s.answer_id, a.title;
