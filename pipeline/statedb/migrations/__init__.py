"""The console database's schema, versioned with Alembic: one revision per change under versions/, applied by
`pipeline console upgrade` and, when the database is behind, by the first process that opens it. Revision 0001
is the schema as it was before migrations (`create ... if not exists`), so a database made then is adopted."""

from __future__ import annotations

from pathlib import Path

HEAD = "0002"  # the newest revision: a process whose database is there runs no migration at all


def engine_options(url: str) -> tuple[str, dict]:
    """SQLAlchemy's URL and connect arguments for the console database's URL. SQLAlchemy 1.4 (pinned for
    luigid's task history) predates psycopg 3, so migrations on PostgreSQL go through pg8000 (pure Python),
    which takes a unix socket (`?host=/dir`, as libpq does) as the socket file's path."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    from pipeline.statedb import sqlite_path

    if url.startswith("sqlite"):
        return f"sqlite:///{sqlite_path(url)}", {}
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    connect_args = {}
    if query.get("host", "").startswith("/"):
        connect_args["unix_sock"] = f"{query.pop('host')}/.s.PGSQL.{query.pop('port', parts.port or 5432)}"
    return parts._replace(scheme="postgresql+pg8000", query=urlencode(query)).geturl(), connect_args


def upgrade(url: str, target: str = "head") -> None:
    """Apply every revision after the database's own, up to `target`, in one transaction that holds the
    database's write lock: two processes upgrading at once migrate once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["url"] = url
    command.upgrade(config, target)
