-- The regions transformed so far: a full refresh rebuilds each of them.
select distinct ta.region
from analytics.transform_audit as ta
order by ta.region;
