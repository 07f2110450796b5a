-- Log-out: this session ends.
delete from console_sessions where session_id = %(session_id)s;
