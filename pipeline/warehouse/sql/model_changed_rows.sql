-- A source's changed rows, for `changed_<source>` in a model's SQL: the rows a window changed, old and new. The current versions whose
-- cursor is in the window, and the versions they replaced (or `reconcile` deleted), which the window's transform
-- consumes: a model keyed by a value that changed (a day, an answer) rebuilds both slices.
-- Identifiers: {columns} (the source's file columns), {table}, {replaced}, {cursor}, {replaced_by}.
-- Parameters: region, window_start, window_end.
(
    select {columns}
    from {table}
    where region = %(region)s
      and {cursor} >= %(window_start)s
      and {cursor} < %(window_end)s
    union all
    select {columns}
    from {replaced}
    where region = %(region)s
      and {replaced_by} >= %(window_start)s
      and {replaced_by} < %(window_end)s
)
