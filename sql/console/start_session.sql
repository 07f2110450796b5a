-- A log-in: its session, by a random id the cookie carries; sessions past their age limit go.
delete from console_sessions where started_at < %(forget_before)s;
insert into console_sessions (session_id, email, started_at) values (%(session_id)s, %(email)s, %(now)s);
