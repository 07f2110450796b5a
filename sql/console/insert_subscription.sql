-- A new subscription; `entry` is its definition as JSON, in the shape of an exports.yml entry.
insert into console_subscriptions (name, entry, owner, created_at, updated_at)
values (%(name)s, %(entry)s, %(owner)s, %(now)s, %(now)s);
