-- A user's role, password hash or disabled flag, as changed by an admin or `console add-user`.
update console_users
set role = %(role)s, password_hash = %(password_hash)s, disabled = %(disabled)s, updated_at = %(now)s
where email = %(email)s;
