"""PostgreSQL: types, capabilities, transient errors and indexes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pipeline.catalog import Table
from pipeline.sqlfiles import quote_ident
from pipeline.warehouse.base import Capabilities, Dialect

# varchar rather than text so that the same declared lengths hold on both kinds; 65535 is Redshift's limit.
TYPES = {
    "objectid": "varchar(28)",
    "text": "varchar({length})",
    "json": "varchar({length})",
    "timestamp": "timestamp",
    "date": "date",
    "bool": "boolean",
    "int": "bigint",
    "float": "double precision",
    "numeric": "numeric(18,6)",
}


def is_lock_timeout(error: BaseException) -> bool:
    import psycopg

    return isinstance(error, psycopg.errors.LockNotAvailable)


def is_missing_table(error: BaseException) -> bool:
    import psycopg

    return isinstance(error, psycopg.errors.UndefinedTable)


def is_transient(error: BaseException) -> bool:
    """Connection trouble, deadlocks and serialization failures: the same work succeeds when run again."""
    import psycopg

    if isinstance(error, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)):
        return True  # the database rolled back one side of a conflict; the same work succeeds alone
    if isinstance(error, psycopg.OperationalError):
        # Connection trouble, not a statement the server refused (those are ProgrammingError and kin).
        return error.sqlstate is None or error.sqlstate.startswith(("08", "57P"))
    return False


# Server refusals at connect that end by themselves: a restart in progress, a full connection table.
_PASSING_REFUSALS = ("the database system is", "too many connections", "remaining connection slots")
# Client-side failures that a retry repeats: no password to send, a certificate or an sslmode refused.
_CLIENT_REFUSALS = ("no password supplied", "certificate", "sslmode")


def is_transient_connect(error: BaseException) -> bool:
    """A failed connect: no answer (refused, reset, timed out) or a passing refusal is transient; the server
    rejecting who or what we asked for (password, database, role), or the client unable to ask (no password,
    TLS), is not. libpq reports these without a SQLSTATE, so its message tells them apart."""
    message = str(error)
    if "FATAL:" in message:
        return any(refusal in message for refusal in _PASSING_REFUSALS)
    return not any(refusal in message for refusal in _CLIENT_REFUSALS)


def index_name(table: str, columns: tuple[str, ...], unique: bool) -> str:
    """A readable, stable name within PostgreSQL's 63 bytes: <table>__<columns>[_key], hashed when longer or
    when it indexes an expression."""
    words = "_".join(re.sub(r"[^a-z0-9_]+", "_", c).strip("_") if c.startswith("(") else c for c in columns)
    name = f"{table.split('.')[-1]}__{words}{'_key' if unique else ''}"
    if len(name) > 63 or any(c.startswith("(") for c in columns):
        name = f"{name[:54]}_{hashlib.sha1('|'.join(columns).encode()).hexdigest()[:8]}"
    return name


def _index_column(item: str) -> str:
    """A column quoted, or an expression (checked by the catalog: the table's columns and a few functions)."""
    return item if item.startswith("(") else quote_ident(item)


def physical_plan(table: Table, existing: set[str] | None) -> list[str]:
    """CREATE INDEX for the declared ones the table lacks (`existing`: its index names): a unique index on
    its key (the merge deletes by it), the one on (region, cursor) the window queries use, and those its
    declaration names. Readers are not blocked while one builds; writers wait."""
    wanted = [(True, table.unique_key)] if table.unique_key else []
    wanted += [(False, columns) for columns in table.indexes]
    plan = []
    for unique, columns in wanted:
        name = index_name(table.name, columns, unique)
        if name not in (existing or set()):
            plan.append(f"create {'unique ' if unique else ''}index if not exists {quote_ident(name)} on "
                        f"{quote_ident(table.name)} ({', '.join(_index_column(c) for c in columns)})")
    return plan


DIALECT = Dialect(
    kind="postgresql",
    types=TYPES,
    # Autovacuum analyzes late; a transform planned on a table it takes for empty nests loops (146 s
    # instead of 0.6 s for a 150k-row day in bench/), so large loads and temp tables are analyzed at once.
    capabilities=Capabilities(analyze_after_load=True),
    templates=Path(__file__).resolve().parent / "sql",
    is_transient=is_transient,
    is_lock_timeout=is_lock_timeout,
    is_missing_table=is_missing_table,
    physical_plan=physical_plan,
)
