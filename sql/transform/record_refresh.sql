-- Record a model's full refresh, committed with the swap. Parameters: model, fingerprint, row_count, seconds,
-- refreshed_at.
insert into analytics.model_refreshes (model, fingerprint, row_count, seconds, refreshed_at)
values (%(model)s, %(fingerprint)s, %(row_count)s, %(seconds)s, %(refreshed_at)s);
