-- `pipeline reconcile`: remove the documents MongoDB no longer has (their keys in the temp table {gone}) from
-- a raw table, after lock.sql, in one transaction. They go to {replaced} first, dated by their own cursor, so
-- the transform of their window rebuilds every analytics row they fed. Deleting a key twice changes nothing.
-- Identifiers: {target}, {target_name}, {replaced}, {gone}, {columns}, {loaded_columns}, {key}, {cursor}.
-- Parameters: deleted_at.
insert into {replaced} ({columns}, _replaced_by, _replaced_at)
select {loaded_columns}, loaded.{cursor}, cast(%(deleted_at)s as timestamp)
from {target} as loaded
inner join {gone} as gone
    on loaded.region = gone.region
    and loaded.{key} = gone.{key};

delete from {target}
using {gone}
where {target_name}.region = {gone}.region
  and {target_name}.{key} = {gone}.{key};
