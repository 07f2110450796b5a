-- `pipeline reconcile`, in the transaction that deletes documents: the transformed windows holding a deleted
-- document's cursor are no longer transformed, until reconcile (or sync, or backfill) transforms them again.
-- Should reconcile stop before that, they stay visibly not done instead of keeping stale rows.
-- Identifiers: {gone_cursors} (a temp table of cursors). Parameters: region.
delete from analytics.transform_audit
where region = %(region)s
  and exists (
      select 1
      from {gone_cursors} as g
      where g.cursor_at >= analytics.transform_audit.window_start
        and g.cursor_at < analytics.transform_audit.window_end
  );
