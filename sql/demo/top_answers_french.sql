-- Demo question 3: the most used bot answers for French speakers, all regions and clients together.
-- Input: analytics.answer_usage_daily. Grain of the answer: answer title.
select
    aud.answer_title,
    sum(aud.times_shown) as times_shown
from analytics.answer_usage_daily as aud
where aud."language" = 'fr'
group by aud.answer_title
order by times_shown desc, aud.answer_title
limit 5;
