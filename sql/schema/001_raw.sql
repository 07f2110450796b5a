-- Raw layer: one table per source collection, one row per (region, document _id), newest version wins.
-- Grain: document. Key: (region, _id). Written only by LoadWindow (COPY -> staging -> delete+insert).
-- Same DDL on PostgreSQL and Redshift: varchar(65535) rather than text (Redshift reads TEXT as varchar(256)).
create schema if not exists "raw";

create table if not exists "raw".conversations (
    region varchar(32) not null,
    _id varchar(24) not null,
    client_id varchar(65535),
    chatter_id varchar(65535),
    "language" varchar(65535),
    device varchar(65535),
    platform varchar(65535),
    created_at timestamp,
    updated_at timestamp not null,
    meta varchar(65535),
    variables varchar(65535),
    _extra varchar(65535),
    _window_start timestamp not null,
    _loaded_at timestamp
);

create table if not exists "raw".messages (
    region varchar(32) not null,
    _id varchar(24) not null,
    conversation_id varchar(24),
    client_id varchar(65535),
    sender varchar(65535),
    answer_id varchar(24),
    text varchar(65535),
    confidence numeric(18,6),
    created_at timestamp,
    updated_at timestamp not null,
    meta varchar(65535),
    _extra varchar(65535),
    _window_start timestamp not null,
    _loaded_at timestamp
);

create table if not exists "raw".answers (
    region varchar(32) not null,
    _id varchar(24) not null,
    client_id varchar(65535),
    title varchar(65535),
    "language" varchar(65535),
    content varchar(65535),
    active boolean,
    version bigint,
    created_at timestamp,
    updated_at timestamp not null,
    _extra varchar(65535),
    _window_start timestamp not null,
    _loaded_at timestamp
);

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
