-- Record one failure of a CLI run. Parameters: failed_at, command, task_family, region, collection,
-- window_start, error, host.
insert into ops.task_failures (failed_at, command, task_family, region, collection, window_start, error, host)
values (%(failed_at)s, %(command)s, %(task_family)s, %(region)s, %(collection)s, %(window_start)s, %(error)s,
        %(host)s);
