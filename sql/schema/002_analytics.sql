-- Analytics layer: denormalized models rebuilt incrementally by sql/transforms/ (delete + insert by key).
create schema if not exists analytics;

-- Grain: conversation. Key: (region, conversation_id).
create table if not exists analytics.conversations (
    conversation_id varchar(24) not null,
    region varchar(32) not null,
    client_id varchar(65535),
    "language" varchar(65535),
    device varchar(65535),
    platform varchar(65535),
    country varchar(65535),
    started_at timestamp,
    started_date date,
    message_count bigint not null,
    bot_message_count bigint not null,
    chatter_message_count bigint not null,
    chatter_responded boolean not null,
    first_chatter_message_at timestamp
);

-- Grain: (metric_date, region, client_id, language, device, platform).
create table if not exists analytics.daily_conversation_metrics (
    metric_date date,
    region varchar(32) not null,
    client_id varchar(65535),
    "language" varchar(65535),
    device varchar(65535),
    platform varchar(65535),
    conversations bigint not null,
    engaged_conversations bigint not null,
    messages bigint not null
);

-- Grain: (metric_date, region, client_id, language, answer_id).
create table if not exists analytics.answer_usage_daily (
    metric_date date,
    region varchar(32) not null,
    client_id varchar(65535),
    "language" varchar(65535),
    answer_id varchar(24) not null,
    answer_title varchar(65535),
    times_shown bigint not null
);

-- One row per transformed (region, window): TransformWindow's completion marker.
create table if not exists analytics.transform_audit (
    region varchar(32) not null,
    window_start timestamp not null,
    window_end timestamp not null,
    conversations_touched bigint not null,
    transformed_at timestamp not null
);
