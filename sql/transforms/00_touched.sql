-- What one loaded window touched in one region, as temp tables the models below read.
-- touched_conversations: conversations whose row, or any of whose messages, has its cursor in the window.
-- touched_answers: answers whose row has its cursor in the window (a title change re-labels usage rows).
-- touched_metric_dates: started dates those conversations had before this run (they may move away).
-- Parameters: region, window_start, window_end.

-- One transform at a time rewrites the models: two delete+insert runs on the same keys would duplicate rows.
lock table analytics.conversations, analytics.daily_conversation_metrics, analytics.answer_usage_daily;

drop table if exists touched_conversations;
drop table if exists touched_answers;
drop table if exists touched_metric_dates;
drop table if exists touched_usage_dates;

create temp table touched_conversations as
select c._id as conversation_id
from "raw".conversations as c
where c.region = %(region)s
  and c.updated_at >= %(window_start)s
  and c.updated_at < %(window_end)s
union
select m.conversation_id
from "raw".messages as m
where m.region = %(region)s
  and m.updated_at >= %(window_start)s
  and m.updated_at < %(window_end)s;

create temp table touched_answers as
select a._id as answer_id
from "raw".answers as a
where a.region = %(region)s
  and a.updated_at >= %(window_start)s
  and a.updated_at < %(window_end)s;

-- Temp tables get no automatic statistics; without them the planner guesses and may nest loops.
analyze touched_conversations;
analyze touched_answers;

create temp table touched_metric_dates as
select distinct ac.started_date as metric_date
from analytics.conversations as ac
where ac.region = %(region)s
  and ac.conversation_id in (select conversation_id from touched_conversations);
