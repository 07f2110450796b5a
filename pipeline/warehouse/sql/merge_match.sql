-- The loaded versions of a window's staged keys, for merge.sql: {matched} (a temp table the load drops) gets
-- (region, key, loaded cursor, newest staged cursor, replaces) of every staged key already in {target}.
-- `replaces`: the version read last wins, not the one with the largest cursor (a cursor may move backwards, a
-- deleted document may come back with an older one). The staged version replaces the loaded one when its read
-- began after the loaded one's read ended (loaded before reads were timed: ended by its load); where the two
-- reads overlapped, which saw the document last is unknown, and the larger cursor wins (the staged one on a
-- tie: the same read loaded again). The loaded version stays when its read began after the staged one's ended.
-- One join, for windows whose keys are few or spread over the whole history (merge_bounds.sql does not split
-- them; merge_match_ranges.sql does the rest). Identifiers are filled by pipeline.sqlfiles.render, which quotes
-- them; values are bound. Parameters: read_started, read_ended (of the staged window's read).
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
    group by staged.region, staged.{key}
) as newest
    on loaded.region = newest.region
    and loaded.{key} = newest.{key};
