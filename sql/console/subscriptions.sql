-- Every subscription made in the console, by name.
select s.name, s.entry, s.owner, s.created_at, s.updated_at
from console_subscriptions as s
order by s.name;
