-- Documents of one raw table whose latest version is from the day before `now`, per region: each document
-- once, however often it was reloaded. Identifiers: {table}, {cursor}. Parameters: day_ago, now.
select t.region, count(*)
from {table} as t
where t.{cursor} >= %(day_ago)s
  and t.{cursor} < %(now)s
group by t.region;
