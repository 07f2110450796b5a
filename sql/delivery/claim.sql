-- Claim one (export, interval) before sending it, inside a transaction that holds the deliveries table's
-- write lock: of concurrent runs exactly one inserts the claim (the last statement's row count is 1), so an
-- interval is e-mailed once. A claim older than stale_before is from a run that died: it is taken over.
-- Parameters: export_name, interval_start, interval_end, recipients, row_count, file_url, claimed_at,
-- stale_before.
delete from exports.deliveries
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s
  and status = 'sending'
  and claimed_at < %(stale_before)s;

insert into exports.deliveries
    (export_name, interval_start, interval_end, status, recipients, row_count, file_url, attached, delivered_at,
     claimed_at)
select
    cast(%(export_name)s as varchar(64)),
    cast(%(interval_start)s as date),
    cast(%(interval_end)s as date),
    cast('sending' as varchar(16)),
    cast(%(recipients)s as varchar(4096)),
    cast(%(row_count)s as bigint),
    cast(%(file_url)s as varchar(1024)),
    false,
    cast(%(claimed_at)s as timestamp),
    cast(%(claimed_at)s as timestamp)
where not exists (
    select 1
    from exports.deliveries as d
    where d.export_name = %(export_name)s
      and d.interval_start = %(interval_start)s
      and d.interval_end = %(interval_end)s
);
