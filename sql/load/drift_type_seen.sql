-- Has this kind of drift (collection, field, observed type) been seen before? The load asks inside its
-- transaction, after it locked its raw table, so two loads of one collection never both take it for new.
-- Parameters: collection, field, observed_type.
select count(*)
from ops.drift_types
where collection = %(collection)s
  and field = %(field)s
  and observed_type = %(observed_type)s;
