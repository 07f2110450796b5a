-- A run requested in the console (run now, resend), queued until a worker claims it (claim_run.sql).
insert into console_runs (run_id, subscription, run_date, action, requested_by, started_at)
values (%(run_id)s, %(subscription)s, %(run_date)s, %(action)s, %(requested_by)s, %(now)s);
