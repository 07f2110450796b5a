-- Give a claim back after a send the SMTP server did not accept, so that the next run sends the interval.
-- Only the claim of this run (its claimed_at): one taken over by another run stays theirs.
-- Parameters: export_name, interval_start, interval_end, claimed_at.
delete from exports.deliveries
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s
  and status = 'sending'
  and claimed_at = %(claimed_at)s;
