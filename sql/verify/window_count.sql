-- Rows of one raw table whose cursor lies in a window, for `pipeline verify`.
-- Identifiers: {table}, {cursor} (the source's declared cursor). Parameters: region, window_start, window_end.
select count(*)
from {table}
where region = %(region)s
  and {cursor} >= %(window_start)s
  and {cursor} < %(window_end)s;
