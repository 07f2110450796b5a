-- Every console user, for the users page.
select u.email, u.role, u.disabled, u.created_at, u.updated_at
from console_users as u
order by u.email;
