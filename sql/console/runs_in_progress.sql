-- Console runs not finished yet: how many, and how many of one subscription, date and action (a second click
-- while the first runs is refused). Parameters: subscription, run_date, action.
select count(*) as running,
       sum(case when subscription = %(subscription)s and run_date = %(run_date)s and action = %(action)s
                then 1 else 0 end) as same
from console_runs
where finished_at is null;
