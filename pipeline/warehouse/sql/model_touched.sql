-- A model's touched keys: its `incremental.touched` query ({keys}, the project's SQL) into {touched}, a temp table
-- private to the transform that creates and drops it. Parameters: those of the window (region, window_start,
-- window_end).
create temp table {touched} as
select distinct *
from (
{keys}
) as touched_keys
