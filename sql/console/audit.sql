-- One page of the audit log, newest first: the events before `before` (an event's `at`; the newest when
-- empty). Parameters: before, page_size (one more is read, to know whether an older page exists).
select a.event_id, a.at, a.actor, a.action, a.target, a.before_value, a.after_value
from console_audit as a
where %(before)s = '' or a.at < %(before)s
order by a.at desc, a.event_id desc
limit %(page_size)s + 1;
