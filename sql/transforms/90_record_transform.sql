-- Record the transform of one (region, window): TransformWindow's completion marker, committed with the
-- models it describes, then drop the run's temp tables.
-- Parameters: region, window_start, window_end, transformed_at.
delete from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

insert into analytics.transform_audit (region, window_start, window_end, conversations_touched, transformed_at)
select
    cast(%(region)s as varchar(32)),
    cast(%(window_start)s as timestamp),
    cast(%(window_end)s as timestamp),
    count(*),
    cast(%(transformed_at)s as timestamp)
from touched_conversations;

drop table touched_conversations;
drop table touched_answers;
drop table touched_metric_dates;
drop table touched_usage_dates;
