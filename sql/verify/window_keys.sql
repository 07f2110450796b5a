-- The key and cursor of each row of one raw table whose cursor lies in a window (a slice of one), for
-- `pipeline verify` to compare with the source document by document. Identifiers: {table}, {key}, {cursor} (the
-- source's declared ones). Parameters: region, window_start, window_end.
select loaded.{key}, loaded.{cursor}
from {table} as loaded
where loaded.region = %(region)s
  and loaded.{cursor} >= %(window_start)s
  and loaded.{cursor} < %(window_end)s;
