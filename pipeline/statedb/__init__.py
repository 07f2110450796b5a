"""The console's own database (users, API tokens, subscriptions, runs, audit log): SQLite by default,
PostgreSQL by URL, never the warehouse. Small and transactional: each unit of work runs in one transaction of a
connection (one per web request, or one per command), which suits both SQLite files and a server shared by
several consoles. Its schema is versioned (pipeline/statedb/migrations)."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.config import console_db_url
from pipeline.errors import first_line
from pipeline.secrets import redact_url
from pipeline.sqlfiles import read_sql, statements

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_ready: set[str] = set()
_ready_lock = threading.Lock()


class StateError(RuntimeError):
    """A failure of the console's database, in the state layer's words: callers never see a driver's
    exception."""


class StateUnavailable(StateError):
    """The database cannot be reached, or refused a statement for a reason other than the data."""


class DuplicateKey(StateError):
    """A row with the same key exists already (two saves of one name at once)."""


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except StateError:
        raise
    except sqlite3.IntegrityError as error:
        raise DuplicateKey(first_line(error)) from error
    except sqlite3.Error as error:
        raise StateUnavailable(f"the console's database failed: {first_line(error)}") from error
    except Exception as error:  # psycopg's, imported only when the database is PostgreSQL
        if type(error).__module__.startswith("psycopg"):
            if type(error).__name__ in ("UniqueViolation", "IntegrityError"):
                raise DuplicateKey(first_line(error)) from error
            raise StateUnavailable(f"the console's database failed: {first_line(error)}") from error
        raise


class StateDB:
    """One open connection inside one transaction; statements are `%(name)s`-bound, as everywhere else."""

    def __init__(self, connection: Any, kind: str):
        self._connection = connection
        self.kind = kind

    def _bound(self, sql: str) -> str:
        return _PLACEHOLDER.sub(r":\1", sql) if self.kind == "sqlite" else sql

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        with _translated():
            cursor = self._connection.execute(self._bound(sql), dict(params or {}))
        return cursor.rowcount

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with _translated():
            cursor = self._connection.execute(self._bound(sql), dict(params or {}))
            return [dict(row) for row in cursor.fetchall()]

    def current_revision(self) -> str | None:
        """The schema revision the database is at (Alembic's table); None before the first migration."""
        with _translated():
            table = self.query("select 1 from sqlite_master where name = 'alembic_version'" if self.kind == "sqlite"
                               else "select 1 from information_schema.tables where table_name = 'alembic_version'"
                               " and table_schema = current_schema()")
        return self.query("select version_num from alembic_version")[0]["version_num"] if table else None

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
    try:
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

        return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True,
                               row_factory=dict_row, connect_timeout=10), "postgresql"
    except Exception as error:
        raise StateUnavailable(f"cannot open the console's database {redact_url(url)}: {first_line(error)}") \
            from None


class StateConnection:
    """One open connection to the console's database; each unit of work is a `transaction()` on it. A web
    request keeps one for its whole life (flask.g); a command opens one with `state_db()`."""

    def __init__(self, url: str | None = None):
        self.url = url or console_db_url()
        self._connection, self.kind = _connect(self.url)
        self._db = StateDB(self._connection, self.kind)
        _ensure_schema(self)

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[StateDB]:
        """Committed when the block ends, rolled back on an error; `write=False` for one that only reads.
        A writer takes SQLite's write lock up front (BEGIN IMMEDIATE): two writers never both read, then fail
        to upgrade. A reader takes none, so pages and API calls never queue behind a writer (WAL mode)."""
        self._db.execute("begin immediate" if self.kind == "sqlite" and write else "begin")
        try:
            yield self._db
        except BaseException:
            with contextlib.suppress(StateError):  # a lost connection has nothing to roll back
                self._db.execute("rollback")
            raise
        self._db.execute("commit")

    def close(self) -> None:
        self._connection.close()


def _ensure_schema(connection: StateConnection) -> None:
    """Bring the database to the newest schema the first time this process opens it (migrations, see
    pipeline/statedb/migrations); a database already there costs one query."""
    with _ready_lock:
        if connection.url in _ready:
            return
        from pipeline.statedb.migrations import HEAD, upgrade

        with connection.transaction(write=False) as db:
            current = db.current_revision()
        if current != HEAD:
            upgrade(connection.url)
        _ready.add(connection.url)


@contextlib.contextmanager
def state_db(url: str | None = None, write: bool = True) -> Iterator[StateDB]:
    """A connection of its own in one transaction: committed when the block ends, rolled back on an error;
    `write=False` for one that only reads."""
    connection = StateConnection(url)
    try:
        with connection.transaction(write) as db:
            yield db
    finally:
        connection.close()
