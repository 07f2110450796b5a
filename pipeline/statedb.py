"""The console's own database (users, API tokens, subscriptions, runs, audit log): SQLite by default,
PostgreSQL by URL, never the warehouse. Small and transactional: each unit of work opens a connection, runs in
one transaction and closes it, which suits both SQLite files and a server shared by several consoles."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.config import console_db_url
from pipeline.sqlfiles import read_sql, statements

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_ready: set[str] = set()
_ready_lock = threading.Lock()


class StateDB:
    """One open connection inside one transaction; statements are `%(name)s`-bound, as everywhere else."""

    def __init__(self, connection: Any, kind: str):
        self._connection = connection
        self.kind = kind

    def _bound(self, sql: str) -> str:
        return _PLACEHOLDER.sub(r":\1", sql) if self.kind == "sqlite" else sql

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        cursor = self._connection.execute(self._bound(sql), dict(params or {}))
        return cursor.rowcount

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._connection.execute(self._bound(sql), dict(params or {}))
        return [dict(row) for row in cursor.fetchall()]

    def run_file(self, relative: str, params: Mapping[str, Any] | None = None) -> int:
        """Every statement of sql/console/<relative>; the last one's row count."""
        count = 0
        for statement in statements(read_sql(f"console/{relative}")):
            count = self.execute(statement, params)
        return count

    def query_file(self, relative: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        (statement,) = statements(read_sql(f"console/{relative}"))
        return self.query(statement, params)


def sqlite_path(url: str) -> Path:
    """sqlite:///relative/path or sqlite:////absolute/path; ~ expands."""
    return Path(url.split("://", 1)[1][1:]).expanduser()


def exists(url: str | None = None) -> bool:
    """False for a SQLite file not created yet: nothing was ever saved, and reading need not create it."""
    url = url or console_db_url()
    return not url.startswith("sqlite") or sqlite_path(url).is_file()


def _connect(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode with explicit BEGIN: the transaction below is the only one.
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("pragma journal_mode = wal")  # readers do not wait for the writer
        connection.execute("pragma foreign_keys = on")
        return connection, "sqlite"
    # Imported here: every `pipeline` command reads the subscriptions, most from SQLite or from no file at all.
    import psycopg
    from psycopg.rows import dict_row

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True, row_factory=dict_row,
                           connect_timeout=10), "postgresql"


@contextlib.contextmanager
def _transaction(connection: Any, kind: str, write: bool = True) -> Iterator[None]:
    # A writer takes SQLite's write lock up front (BEGIN IMMEDIATE): two writers never both read, then fail to
    # upgrade. A reader takes none, so pages and API calls never queue behind a writer (WAL mode).
    connection.execute("begin immediate" if kind == "sqlite" and write else "begin")
    try:
        yield
    except BaseException:
        connection.execute("rollback")
        raise
    connection.execute("commit")


@contextlib.contextmanager
def state_db(url: str | None = None, write: bool = True) -> Iterator[StateDB]:
    """A connection in one transaction: committed when the block ends, rolled back on an error; `write=False`
    for one that only reads. The schema (sql/console/schema.sql) is created the first time a process opens a
    database."""
    url = url or console_db_url()
    connection, kind = _connect(url)
    db = StateDB(connection, kind)
    try:
        with _ready_lock:
            if url not in _ready:
                with _transaction(connection, kind):
                    db.run_file("schema.sql")
                _ready.add(url)
        with _transaction(connection, kind, write):
            yield db
    finally:
        connection.close()
