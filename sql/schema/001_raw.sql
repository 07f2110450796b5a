-- Raw layer: one table per source collection (declared in sql/sources/, created from there), and the
-- audit of loads. Raw tables: one row per (region, document _id), newest version wins.
create schema if not exists "raw";

-- One row per loaded (region, collection, window): LoadWindow's completion marker, written in the
-- same transaction as the merge it describes.
create table if not exists "raw".load_audit (
    region varchar(32) not null,
    collection varchar(64) not null,
    window_start timestamp not null,
    window_end timestamp not null,
    extracted bigint not null,
    quarantined bigint not null,
    staged bigint not null,
    inserted bigint not null,
    kept_newer bigint not null,
    manifest_url varchar(1024) not null,
    loaded_at timestamp not null
);
