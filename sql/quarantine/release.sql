-- A replayed document now landed: it leaves the quarantine, and its window's audit counts it as loaded (so
-- `pipeline verify` still reconciles). Inside the replay's transaction. Parameters: region, collection,
-- window_start, window_end, document_id.
delete from "raw".load_quarantine
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s
  and document_id = %(document_id)s;

update "raw".load_audit
set quarantined = quarantined - 1,
    staged = staged + 1
where region = %(region)s
  and collection = %(collection)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;
