"""The schema before migrations: users, log-in failures, API tokens and calls, subscriptions, console runs,
the audit log, sessions. Idempotent (`if not exists`), so a database made then is adopted as it is.

Revision ID: 0001
"""

from alembic import op

from pipeline.sqlfiles import read_sql, statements

revision = "0001"
down_revision = None


def upgrade() -> None:
    for statement in statements(read_sql("console/migrations/0001_baseline.sql")):
        op.execute(statement)
