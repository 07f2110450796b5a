-- Lookup: the clients a report can be made for (the allowed values of a template's client_id).
-- Input: analytics.conversations.
select distinct c.client_id
from analytics.conversations as c
where c.client_id is not null
order by c.client_id;
