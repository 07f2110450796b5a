-- A raw table's rows of one region. Only its row estimate is read (EXPLAIN, nothing runs), to size the key
-- range of merge_range_rows.sql against. Parameters: region.
select loaded.{key}
from {target} as loaded
where loaded.region = %(region)s;
