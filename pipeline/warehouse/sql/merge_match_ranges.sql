-- The loaded versions of a window's staged keys, for merge.sql: {matched} (a temp table the load drops) gets
-- (region, key, loaded cursor, newest staged cursor) of every staged key already in {target}.
-- Used when merge_bounds.sql's floor splits the staged keys: the few up to the floor (possibly old documents
-- updated now) and the dense rest above it (documents created in the window, where keys grow with time as
-- ObjectIds do) are each matched against the raw table's keys in their own range only, so a window of new
-- documents reads a range that follows the window, not the history. Identifiers are filled by
-- pipeline.sqlfiles.render, which quotes them; values are bound. Parameters: region, lowest, key_floor, highest.
create temp table {matched} as
select loaded.region, loaded.{key}, loaded.{cursor} as loaded_cursor, newest.{cursor} as newest_cursor
from {target} as loaded
inner join (
    select staged.region, staged.{key}, max(staged.{cursor}) as {cursor}
    from {stage} as staged
    where staged.{key} <= %(key_floor)s
    group by staged.region, staged.{key}
) as newest
    on loaded.region = newest.region
    and loaded.{key} = newest.{key}
where loaded.region = %(region)s
  and loaded.{key} >= %(lowest)s
  and loaded.{key} <= %(key_floor)s
union all
select loaded.region, loaded.{key}, loaded.{cursor} as loaded_cursor, newest.{cursor} as newest_cursor
from {target} as loaded
inner join (
    select staged.region, staged.{key}, max(staged.{cursor}) as {cursor}
    from {stage} as staged
    where staged.{key} > %(key_floor)s
    group by staged.region, staged.{key}
) as newest
    on loaded.region = newest.region
    and loaded.{key} = newest.{key}
where loaded.region = %(region)s
  and loaded.{key} > %(key_floor)s
  and loaded.{key} <= %(highest)s;
