-- Record the transform of one (region, window): TransformWindow's completion marker, committed with the
-- models it describes. A rerun replaces the row.
-- Parameters: region, window_start, window_end, keys_touched, declared, transformed_at.
delete from analytics.transform_audit
where region = %(region)s
  and window_start = %(window_start)s
  and window_end = %(window_end)s;

insert into analytics.transform_audit (region, window_start, window_end, keys_touched, declared, transformed_at)
values (%(region)s, %(window_start)s, %(window_end)s, %(keys_touched)s, %(declared)s, %(transformed_at)s);
