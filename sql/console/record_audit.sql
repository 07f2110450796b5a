-- One change: who, when, what, and the object before and after (JSON).
insert into console_audit (event_id, at, actor, action, target, before_value, after_value)
values (%(event_id)s, %(at)s, %(actor)s, %(action)s, %(target)s, %(before_value)s, %(after_value)s);
