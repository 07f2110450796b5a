-- A console run ended: its exit code, its outcome in plain words and the end of its output (for admins).
update console_runs set finished_at = %(now)s, exit_code = %(exit_code)s, outcome = %(outcome)s,
                        output = %(output)s
where run_id = %(run_id)s;
