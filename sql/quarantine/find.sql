-- `pipeline quarantine show`: where one document is quarantined (newest window first).
-- Parameters: region, collection, document_id.
select lq.window_start, lq.window_end, lq.reason, lq.quarantine_url
from "raw".load_quarantine as lq
where lq.region = %(region)s
  and lq.collection = %(collection)s
  and lq.document_id = %(document_id)s
order by lq.window_start desc;
