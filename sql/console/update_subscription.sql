-- A subscription's new definition (edit, pause, resume).
update console_subscriptions
set entry = %(entry)s, updated_at = %(now)s
where name = %(name)s;
