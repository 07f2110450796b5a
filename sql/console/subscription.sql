-- One subscription by name.
select s.name, s.entry, s.owner, s.created_at, s.updated_at
from console_subscriptions as s
where s.name = %(name)s;
