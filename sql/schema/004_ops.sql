-- Operations: failures the CLI saw, so `pipeline status` can show each region and table's last error.
create schema if not exists ops;

create table if not exists ops.task_failures (
    failed_at timestamp not null,
    command varchar(64) not null,
    task_family varchar(128) not null,
    region varchar(32),
    collection varchar(64),
    window_start timestamp,
    error varchar(4096) not null,
    host varchar(256) not null
);
