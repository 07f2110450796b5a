-- The latest data API calls, for the tokens page.
select c.called_at, c.token_name, c.client_id, c.path, c.template, c.params, c.format, c.rows_sent, c.status
from console_api_calls as c
order by c.called_at desc
limit 200;
