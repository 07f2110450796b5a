-- Every API token (never the secrets), for the tokens page.
select t.token_id, t.name, t.client_id, t.created_by, t.created_at, t.revoked_at, t.last_used_at
from console_api_tokens as t
order by t.created_at desc;
