-- Redshift only: the latest load error of this session, to name table, column, line and raw value.
select filename, line_number, colname, raw_field_value, err_reason
from stl_load_errors
where session = pg_backend_pid()
order by starttime desc
limit 1;
