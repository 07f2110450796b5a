-- Once, when analytics.model_builds is created on a warehouse transformed by an older release: the windows
-- whose transform listed a model (declared: 'sources: ...; models: a, b') count as built by its definition of
-- now, as that release assumed; `pipeline transform --model` rebuilds them if that is not so.
-- Parameters: model, fingerprint, listed ('%, <model>,%'), built_at.
insert into analytics.model_builds (region, window_start, window_end, model, fingerprint, built_at)
select ta.region, ta.window_start, ta.window_end, %(model)s, %(fingerprint)s, %(built_at)s
from analytics.transform_audit as ta
where ', ' || split_part(ta.declared, '; models: ', 2) || ',' like %(listed)s;
