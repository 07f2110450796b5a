-- The loaded versions of a window's staged keys, for merge.sql: {matched} (a temp table the load drops) gets
-- (region, key, loaded cursor, newest staged cursor) of every staged key already in {target}.
-- One join, for windows whose keys are few or spread over the whole history (merge_bounds.sql does not split
-- them; merge_match_ranges.sql does the rest). Identifiers are filled by pipeline.sqlfiles.render, which quotes
-- them.
create temp table {matched} as
select loaded.region, loaded.{key}, loaded.{cursor} as loaded_cursor, newest.{cursor} as newest_cursor
from {target} as loaded
inner join (
    select staged.region, staged.{key}, max(staged.{cursor}) as {cursor}
    from {stage} as staged
    group by staged.region, staged.{key}
) as newest
    on loaded.region = newest.region
    and loaded.{key} = newest.{key};
