"""Console runs become a queue that a worker (`pipeline console worker`) claims: which worker has a run, since
when, its last sign of life (a run whose worker went silent is marked failed), and its outcome in plain words.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    for column in ("claimed_by", "claimed_at", "heartbeat_at", "outcome"):
        op.add_column("console_runs", sa.Column(column, sa.Text(), nullable=True))
    op.create_index("console_runs_unfinished", "console_runs", ["finished_at", "started_at"])
