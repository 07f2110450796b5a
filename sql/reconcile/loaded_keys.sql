-- `pipeline reconcile`: the keys of one raw table whose current version has its cursor in [start, end), to
-- look up in MongoDB. Identifiers: {table}, {key}, {cursor}. Parameters: region, start, end.
select t.{key}, t.{cursor}
from {table} as t
where t.region = %(region)s
  and t.{cursor} >= %(start)s
  and t.{cursor} < %(end)s
order by t.{key};
