-- Freshness per region and collection: the last loaded window and the last recorded failure.
-- (Documents changed in the last day: ops/changed_documents.sql, per raw table.) Parameters: none.
with loads as (
    select
        la.region,
        la.collection,
        max(la.window_end) as last_window_end
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
)

select
    l.region,
    l.collection,
    l.last_window_end,
    f.error as last_error,
    f.failed_at as last_error_at
from loads as l
left join failures as f
    on f.region = l.region and f.collection = l.collection and f.recency = 1
order by l.region, l.collection;
