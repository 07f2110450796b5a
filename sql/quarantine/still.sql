-- A replayed document still cannot be stored: its reason is today's. Parameters: region, collection,
-- window_start, window_end, document_id, reason, replayed_at.
update "raw".load_quarantine
set reason = %(reason)s,
    loaded_at = %(replayed_at)s
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s
  and document_id = %(document_id)s;
