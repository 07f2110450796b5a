-- One call of the data API: which token, which template and parameters, how many rows, the HTTP status; calls
-- older than the log's age limit go.
update console_api_tokens set last_used_at = %(called_at)s where token_id = %(token_id)s;
delete from console_api_calls where called_at < %(forget_before)s;
insert into console_api_calls (called_at, token_id, token_name, client_id, path, template, params, format, rows_sent,
                               status)
values (%(called_at)s, %(token_id)s, %(token_name)s, %(client_id)s, %(path)s, %(template)s, %(params)s, %(format)s,
        %(rows_sent)s, %(status)s);
