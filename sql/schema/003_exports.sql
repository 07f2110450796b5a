-- Export deliveries: one row per (export, interval) that was e-mailed or skipped as empty.
-- DeliverExport's completion marker, so an export is never sent twice for the same interval.
create schema if not exists exports;

create table if not exists exports.deliveries (
    export_name varchar(64) not null,
    interval_start date not null,
    interval_end date not null,
    status varchar(16) not null,
    recipients varchar(4096) not null,
    message_id varchar(512),
    row_count bigint not null,
    file_url varchar(1024) not null,
    attached boolean not null,
    delivered_at timestamp not null
);
