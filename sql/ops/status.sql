-- Freshness per region and collection: the last loaded window, rows loaded in the day before `now`, and
-- the last recorded failure. Parameters: now, day_ago.
with loads as (
    select
        la.region,
        la.collection,
        max(la.window_end) as last_window_end,
        sum(case when la.loaded_at >= %(day_ago)s and la.loaded_at < %(now)s then la.inserted else 0 end)
            as rows_last_day
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
    l.rows_last_day,
    f.error as last_error,
    f.failed_at as last_error_at
from loads as l
left join failures as f
    on f.region = l.region and f.collection = l.collection and f.recency = 1
order by l.region, l.collection;
