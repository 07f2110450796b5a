-- A delivery attempt that failed, with why and when it is retried (the claim was given back).
-- Parameters: export_name, interval_start, interval_end, failed_at, reason, retry.
insert into exports.delivery_failures (export_name, interval_start, interval_end, failed_at, reason, retry)
values (%(export_name)s, %(interval_start)s, %(interval_end)s, %(failed_at)s, %(reason)s, %(retry)s);
