-- Runs whose worker gave no sign of life since `silent_since` (it stopped or crashed meanwhile) are marked
-- failed, with the reason, instead of showing as running forever. Parameters: now, silent_since, output.
update console_runs set finished_at = %(now)s, exit_code = -1, output = %(output)s, outcome = %(output)s
where finished_at is null and claimed_by is not null and heartbeat_at < %(silent_since)s;
