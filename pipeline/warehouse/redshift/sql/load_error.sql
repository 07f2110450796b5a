-- Redshift only: the first error of this session's last COPY, to name table, column, line and raw value.
-- pg_last_copy_id() ties it to that COPY: an older error of the same session is not reported instead.
select filename, line_number, colname, raw_field_value, err_reason
from stl_load_errors
where query = pg_last_copy_id()
order by line_number
limit 1;
