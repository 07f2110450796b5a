-- A token stops working.
update console_api_tokens set revoked_at = %(now)s where token_id = %(token_id)s and revoked_at is null;
