-- A worker's sign of life for the runs it holds (abandon_runs.sql fails those whose worker went silent).
update console_runs set heartbeat_at = %(now)s
where claimed_by = %(worker)s and finished_at is null;
