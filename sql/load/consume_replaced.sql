-- The transform of a window consumes the replaced and deleted versions whose `_replaced_by` lies in it: the
-- models were just rebuilt for them, in the same transaction. Identifier: {replaced} (raw.<source>_replaced).
-- Parameters: region, window_start, window_end.
delete from {replaced}
where region = %(region)s
  and _replaced_by >= %(window_start)s
  and _replaced_by < %(window_end)s;
