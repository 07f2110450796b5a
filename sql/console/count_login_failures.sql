-- Failed log-ins of a subject ('email:<address>' or 'address:<client IP>') since a moment: the throttle.
select count(*) as failures, min(f.failed_at) as first_failed_at
from console_login_failures as f
where f.subject = %(subject)s
  and f.failed_at >= %(since)s;
