-- `pipeline quarantine list`: quarantined documents per window, collection and reason, with two example keys.
-- Parameters: start, end (windows inside [start, end)).
select
    lq.region,
    lq.collection,
    lq.window_start,
    lq.window_end,
    lq.reason,
    count(*) as documents,
    min(lq.document_id) as first_example,
    max(lq.document_id) as last_example
from "raw".load_quarantine as lq
where lq.window_start >= %(start)s
  and lq.window_end <= %(end)s
group by lq.region, lq.collection, lq.window_start, lq.window_end, lq.reason
order by lq.window_start, lq.region, lq.collection, lq.reason;
