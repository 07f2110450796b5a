-- A raw table's rows of one region whose keys lie above the merge's key floor, up to the window's highest
-- key (merge_bounds.sql). Only its row estimate is read (EXPLAIN, nothing runs), against merge_region_rows.sql:
-- keys spread over the whole history put most of the table in that range, and one join (merge_match.sql)
-- then costs less than two. Parameters: region, key_floor, highest.
select loaded.{key}
from {target} as loaded
where loaded.region = %(region)s
  and loaded.{key} > %(key_floor)s
  and loaded.{key} <= %(highest)s;
