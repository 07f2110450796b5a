-- The latest console runs of one export: queued (no worker yet), running (claimed) or ended.
select r.run_id, r.run_date, r.action, r.requested_by, r.started_at, r.claimed_at, r.finished_at, r.exit_code,
       r.outcome, r.output
from console_runs as r
where r.subscription = %(subscription)s
order by r.started_at desc
limit 20;
