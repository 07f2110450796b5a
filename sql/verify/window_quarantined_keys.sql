-- Keys of the documents quarantined by the loads inside one window (any window length, e.g. the 5-minute
-- windows of `pipeline sync` inside a verified day), each once however often its window was loaded.
-- Parameters: region, collection, window_start, window_end.
select distinct lq.document_id
from "raw".load_quarantine as lq
where lq.region = %(region)s
  and lq.collection = %(collection)s
  and lq.window_start >= %(window_start)s
  and lq.window_end <= %(window_end)s;
