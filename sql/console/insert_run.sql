-- A run started from the console (run now, resend): the command's outcome is filled in when it ends.
insert into console_runs (run_id, subscription, run_date, action, requested_by, started_at)
values (%(run_id)s, %(subscription)s, %(run_date)s, %(action)s, %(requested_by)s, %(now)s);
