-- `pipeline verify`: rows of one raw table without created_at whose cursor is in the range. The models date
-- them by their last update (the documented rule); verify counts them so the rule never hides data.
-- Identifiers: {table}, {cursor}. Parameters: start, end.
select count(*)
from {table} as t
where t.created_at is null
  and t.{cursor} >= %(start)s
  and t.{cursor} < %(end)s;
