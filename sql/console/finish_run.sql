-- A console run ended: its exit code and the end of its output.
update console_runs set finished_at = %(now)s, exit_code = %(exit_code)s, output = %(output)s
where run_id = %(run_id)s;
