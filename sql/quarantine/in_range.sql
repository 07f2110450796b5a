-- `pipeline quarantine replay`: the documents still quarantined in windows inside [start, end).
-- Parameters: start, end.
select lq.region, lq.collection, lq.window_start, lq.window_end, lq.quarantine_url, lq.document_id
from "raw".load_quarantine as lq
where lq.window_start >= %(start)s
  and lq.window_end <= %(end)s
order by lq.region, lq.collection, lq.window_start, lq.window_end, lq.quarantine_url, lq.document_id;
