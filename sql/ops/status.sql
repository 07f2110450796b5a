-- Freshness per region and collection: the last loaded window and the last recorded failure, unless a load
-- succeeded after it (a failure that a later run got past is history, not the state); a collection never
-- loaded shows its failure too.
-- (Documents changed in the last day: ops/changed_documents.sql, per raw table.) Parameters: none.
with loads as (
    select
        la.region,
        la.collection,
        max(la.window_end) as last_window_end,
        max(la.loaded_at) as last_loaded_at
    from "raw".load_audit as la
    group by la.region, la.collection
),

failures as (
    select
        tf.region,
        tf.collection,
        tf.error,
        tf.failed_at,
        row_number() over (partition by tf.region, tf.collection order by tf.failed_at desc) as recency
    from ops.task_failures as tf
    where tf.region is not null
),

shown as (
    select loads.region, loads.collection from loads
    union
    select failures.region, failures.collection from failures where failures.collection is not null
)

select
    shown.region,
    shown.collection,
    l.last_window_end,
    f.error as last_error,
    f.failed_at as last_error_at
from shown
left join loads as l
    on l.region = shown.region and l.collection = shown.collection
left join failures as f
    on f.region = shown.region and f.collection = shown.collection and f.recency = 1
    and (l.last_loaded_at is null or f.failed_at > l.last_loaded_at)
order by shown.region, shown.collection;
