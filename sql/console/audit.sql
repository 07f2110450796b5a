-- The audit log, newest first.
select a.at, a.actor, a.action, a.target, a.before_value, a.after_value
from console_audit as a
order by a.at desc, a.event_id desc
limit 500;
