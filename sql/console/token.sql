-- One API token by its public id.
select t.token_id, t.name, t.client_id, t.secret_hash, t.created_by, t.created_at, t.revoked_at, t.last_used_at
from console_api_tokens as t
where t.token_id = %(token_id)s;
