-- `pipeline drift`: type drift per collection, field and observed type over the windows inside [start, end).
-- Parameters: start, end.
select
    ld.collection,
    ld.field,
    ld.observed_type,
    sum(ld.documents) as documents,
    sum(ld.nulled) as nulled,
    count(*) as windows,
    min(ld.window_start) as first_window,
    max(ld.window_end) as last_window_end,
    max(ld.examples) as examples
from "raw".load_drift as ld
where ld.window_start >= %(start)s
  and ld.window_end <= %(end)s
group by ld.collection, ld.field, ld.observed_type
order by ld.collection, ld.field, ld.observed_type;
