-- Merge one window's staged rows into its raw table, inside the load's transaction, after lock.sql and after
-- merge_match.sql or merge_match_ranges.sql made {matched}: the loaded versions of the staged keys (for new
-- documents, nothing). Identifiers ({target}, {target_name}, {stage}, {matched}, {replaced}, {columns},
-- {loaded_columns}, and the source's declared {key} and {cursor}) are filled by pipeline.sqlfiles.render, which
-- quotes them; values are bound. The version read last wins: a staged row replaces a loaded one with the same
-- key where {matched}.replaces says so (see merge_match.sql), so a late load of an early read never overwrites
-- a later one, and a cursor that moved backwards is still loaded. A document read twice in one window (its
-- versions side by side in the stage) is inserted once, the larger cursor first.
-- The versions about to be replaced go to {replaced} first: the transform of the window holding the new
-- version reads them to rebuild what the old one fed (the day a message moved from, the answer it no longer
-- uses). The last statement is the insert: its row count is the load's `inserted`. Parameters: loaded_at, read_started, read_ended.
insert into {replaced} ({columns}, _replaced_by, _replaced_at)
select {loaded_columns}, matched.newest_cursor, cast(%(loaded_at)s as timestamp)
from {matched} as matched
inner join {target} as loaded
    on loaded.region = matched.region
    and loaded.{key} = matched.{key}
where matched.replaces;

delete from {target}
using {matched}
where {target_name}.region = {matched}.region
  and {target_name}.{key} = {matched}.{key}
  and {matched}.replaces;

insert into {target} ({columns}, _loaded_at, _read_started, _read_ended)
select {columns}, cast(%(loaded_at)s as timestamp), cast(%(read_started)s as timestamp),
    cast(%(read_ended)s as timestamp)
from (
    select
        staged.*,
        row_number() over (partition by staged.region, staged.{key} order by staged.{cursor} desc) as version_rank
    from {stage} as staged
) as versions
where versions.version_rank = 1
  and not exists (
      select 1
      from {matched} as kept
      where kept.region = versions.region
        and kept.{key} = versions.{key}
        and not kept.replaces
  );
