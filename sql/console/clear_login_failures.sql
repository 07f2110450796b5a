-- A successful log-in clears the e-mail address's failures.
delete from console_login_failures where subject = %(subject)s;
