-- Instead of the touched keys, every key the model's table holds in the region: a full refresh of a model that
-- reads this one. Identifiers: {touched}, {key} (the incremental key's columns), {table}. Parameters: region.
create temp table {touched} as
select distinct {key}
from {table}
where region = %(region)s
