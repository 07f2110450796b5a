-- The rows of a raw table's region whose keys lie above the merge's key floor, up to the window's highest key
-- (merge_bounds.sql): the range the dense part of merge_match_ranges.sql reads. Only its row estimate is read
-- (EXPLAIN, nothing runs), against merge_region_rows.sql: keys spread over the whole history put most of the
-- table in that range, and one join (merge_match.sql) then costs less than two. (The part below the floor
-- holds at most a tenth of the keys, or 10,000: the planner looks those up one by one when their range is
-- wide.) Parameters: region, key_floor, highest.
select loaded.{key}
from {target} as loaded
where loaded.region = %(region)s
  and loaded.{key} > %(key_floor)s
  and loaded.{key} <= %(highest)s;
