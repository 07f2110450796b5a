-- Analytics layer: one table per model (declared in sql/models/<model>/, created from there), rebuilt
-- incrementally by pipeline.transform, and the audit of transforms.
create schema if not exists analytics;

-- One row per transformed (region, window): TransformWindow's completion marker, committed with the
-- models it describes. keys_touched: the window's touched keys, summed over the models.
create table if not exists analytics.transform_audit (
    region varchar(32) not null,
    window_start timestamp not null,
    window_end timestamp not null,
    keys_touched bigint not null,
    transformed_at timestamp not null
);
