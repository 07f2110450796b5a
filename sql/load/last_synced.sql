-- Where `pipeline sync` resumes for a region: the end of the latest window every collection has loaded.
-- Parameters: region.
select min(last_end)
from (
    select collection, max(window_end) as last_end
    from raw.load_audit
    where region = %(region)s
    group by collection
) as per_collection;
