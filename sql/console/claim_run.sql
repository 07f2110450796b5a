-- A worker takes a queued run; 0 rows when another worker took it first. Parameters: run_id, worker, now.
update console_runs set claimed_by = %(worker)s, claimed_at = %(now)s, heartbeat_at = %(now)s
where run_id = %(run_id)s and claimed_by is null and finished_at is null;
