-- The user of a live session (none once it ended, expired, or its user is disabled).
select u.email, u.role
from console_sessions as s
inner join console_users as u on u.email = s.email
where s.session_id = %(session_id)s
  and s.started_at >= %(since)s
  and u.disabled = 0;
