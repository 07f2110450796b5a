-- The oldest run no worker has claimed yet.
select run_id, subscription, run_date, action
from console_runs
where finished_at is null and claimed_by is null
order by started_at, run_id
limit 1;
