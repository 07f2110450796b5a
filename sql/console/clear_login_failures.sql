-- A successful log-in clears the e-mail address's failures, and takes back its own attempt from the client
-- address's count.
delete from console_login_failures where subject = %(email_subject)s;
delete from console_login_failures where subject = %(address_subject)s and failed_at = %(now)s;
