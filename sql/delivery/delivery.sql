-- One delivery row, for `pipeline export resend`. Parameters: export_name, interval_start, interval_end.
select d.status, d.refused, d.attached
from exports.deliveries as d
where d.export_name = %(export_name)s
  and d.interval_start = %(interval_start)s
  and d.interval_end = %(interval_end)s;
