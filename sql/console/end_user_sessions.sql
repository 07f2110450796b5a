-- A user's password, role or disabled flag changed: every session of theirs ends.
delete from console_sessions where email = %(email)s;
