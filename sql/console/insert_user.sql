-- A new console user (the password arrives hashed).
insert into console_users (email, role, password_hash, disabled, created_at, updated_at)
values (%(email)s, %(role)s, %(password_hash)s, 0, %(now)s, %(now)s);
