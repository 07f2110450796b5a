-- Windows of a region that sync may need to read again for backdated writes: per window (of one length)
-- ending in [since, until], when its earliest-loaded collection was loaded. pipeline.tasks.flow re-reads
-- those loaded sooner than [windows] backdated_lookback_minutes after their end.
-- Parameters: region, since, until.
select la.window_start, la.window_end, min(la.loaded_at) as first_loaded
from "raw".load_audit as la
where la.region = %(region)s
  and la.window_end >= %(since)s
  and la.window_end <= %(until)s
group by la.window_start, la.window_end
order by la.window_start;
