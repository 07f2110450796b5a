-- A log-in attempt, counted as a failure for the e-mail address and for the client address before its
-- password is checked (a success takes it back: clear_login_failures.sql); old ones are forgotten.
delete from console_login_failures where failed_at < %(forget_before)s;
insert into console_login_failures (subject, failed_at) values (%(email_subject)s, %(now)s);
insert into console_login_failures (subject, failed_at) values (%(address_subject)s, %(now)s);
