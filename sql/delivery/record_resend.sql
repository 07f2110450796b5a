-- Record a resend of a partial delivery to its refused recipients. Parameters: export_name, interval_start,
-- interval_end, status, refused, delivered_at.
update exports.deliveries
set status = %(status)s,
    refused = %(refused)s,
    delivered_at = %(delivered_at)s
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s
  and status = 'partial';
