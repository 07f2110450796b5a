-- One console user by e-mail address.
select u.email, u.role, u.password_hash, u.disabled, u.created_at, u.updated_at
from console_users as u
where u.email = %(email)s;
