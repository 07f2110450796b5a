-- Give a claim back after a send the SMTP server did not accept, so that the next run sends the interval.
-- Parameters: export_name, interval_start, interval_end.
delete from exports.deliveries
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s
  and status = 'sending';
