-- Documents quarantined by the loads inside one window (any window length, e.g. the 15-minute windows of
-- `pipeline sync` inside a verified day). Parameters: region, collection, window_start, window_end.
select coalesce(sum(la.quarantined), 0)
from "raw".load_audit as la
where la.region = %(region)s
  and la.collection = %(collection)s
  and la.window_start >= %(window_start)s
  and la.window_end <= %(window_end)s;
