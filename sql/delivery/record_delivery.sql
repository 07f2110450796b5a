-- Record one export delivery. Parameters: export_name, interval_start, interval_end, status, recipients,
-- message_id, row_count, file_url, attached, delivered_at.
insert into exports.deliveries
    (export_name, interval_start, interval_end, status, recipients, message_id, row_count, file_url, attached,
     delivered_at)
values
    (%(export_name)s, %(interval_start)s, %(interval_end)s, %(status)s, %(recipients)s, %(message_id)s,
     %(row_count)s, %(file_url)s, %(attached)s, %(delivered_at)s);
