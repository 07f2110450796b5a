-- A new API token: only the hash of its secret is kept.
insert into console_api_tokens (token_id, name, client_id, secret_hash, created_by, created_at)
values (%(token_id)s, %(name)s, %(client_id)s, %(secret_hash)s, %(created_by)s, %(now)s);
