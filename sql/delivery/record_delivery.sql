-- Record how a claimed delivery went: sent, partial (some recipients refused) or skipped_empty. Only the
-- run that holds the claim (its claimed_at) records it: a run whose claim was taken over records nothing.
-- Parameters: export_name, interval_start, interval_end, claimed_at, status, message_id, attached, refused,
-- delivered_at.
update exports.deliveries
set status = %(status)s,
    message_id = %(message_id)s,
    attached = %(attached)s,
    refused = %(refused)s,
    delivered_at = %(delivered_at)s
where export_name = %(export_name)s
  and interval_start = %(interval_start)s
  and interval_end = %(interval_end)s
  and status = 'sending'
  and claimed_at = %(claimed_at)s;
