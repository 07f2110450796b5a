-- The key bounds of one staged window, bound into merge_match_ranges.sql: its smallest key, the key at rank
-- {probed_keys} in key order (the floor) and its largest key. Keys up to the floor are few and may be old (an
-- update of a document created long ago); those above it are dense (documents created in the window, where
-- keys grow with time as ObjectIds do), and are matched against the raw table's keys between the floor and the
-- largest key only: a range that follows the window, not the history.
select
    min(staged.{key}) as lowest,
    (
        select max(probed.{key})
        from (select ranked.{key} from {stage} as ranked order by ranked.{key} limit {probed_keys}) as probed
    ) as key_floor,
    max(staged.{key}) as highest
from {stage} as staged;
