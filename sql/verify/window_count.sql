-- Rows of one raw table whose cursor lies in a window, for `pipeline verify`.
-- Identifier: {table}. Parameters: region, window_start, window_end.
select count(*)
from {table}
where region = %(region)s
  and updated_at >= %(window_start)s
  and updated_at < %(window_end)s;
