-- At the console's start: runs it started before and never saw end (it stopped or crashed meanwhile) are
-- marked failed, with the reason, instead of showing as running forever.
update console_runs set finished_at = %(now)s, exit_code = -1, output = %(output)s
where finished_at is null;
