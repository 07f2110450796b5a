-- The loaded versions of a window's staged keys, for merge.sql: {matched} (a temp table the load drops) gets
-- (region, key, loaded cursor, newest staged cursor, replaces) of every staged key already in {target}.
-- `replaces` as in merge_match.sql: the version read last wins.
-- Used when merge_bounds.sql's floor splits the staged keys: the few up to the floor (possibly old documents
-- updated now) and the dense rest above it (documents created in the window, where keys grow with time as
-- ObjectIds do) are each matched against the raw table's keys in their own range only, so a window of new
-- documents reads a range that follows the window, not the history. Identifiers are filled by
-- pipeline.sqlfiles.render, which quotes them; values are bound. Parameters: region, lowest, key_floor, highest,
-- read_started, read_ended.
create temp table {matched} as
select
    loaded.region,
    loaded.{key},
    loaded.{cursor} as loaded_cursor,
    newest.{cursor} as newest_cursor,
    (coalesce(loaded._read_ended, loaded._loaded_at, timestamp '1970-01-01') < cast(%(read_started)s as timestamp)
     or (coalesce(loaded._read_started, timestamp '1970-01-01') <= cast(%(read_ended)s as timestamp)
         and loaded.{cursor} <= newest.{cursor})) as replaces
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
select
    loaded.region,
    loaded.{key},
    loaded.{cursor} as loaded_cursor,
    newest.{cursor} as newest_cursor,
    (coalesce(loaded._read_ended, loaded._loaded_at, timestamp '1970-01-01') < cast(%(read_started)s as timestamp)
     or (coalesce(loaded._read_started, timestamp '1970-01-01') <= cast(%(read_ended)s as timestamp)
         and loaded.{cursor} <= newest.{cursor})) as replaces
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
