-- What the console's database holds, for `pipeline doctor`.
select
    (select count(*) from console_users where disabled = 0) as users,
    (select count(*) from console_subscriptions) as subscriptions,
    (select count(*) from console_api_tokens where revoked_at is null) as tokens;
