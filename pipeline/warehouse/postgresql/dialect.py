"""PostgreSQL: types, capabilities and transient errors."""

from __future__ import annotations

from pathlib import Path

from pipeline.warehouse.base import Capabilities, Dialect

# varchar rather than text so that the same declared lengths hold on both kinds; 65535 is Redshift's limit.
TYPES = {
    "objectid": "varchar(24)",
    "text": "varchar({length})",
    "json": "varchar({length})",
    "timestamp": "timestamp",
    "date": "date",
    "bool": "boolean",
    "int": "bigint",
    "float": "double precision",
    "numeric": "numeric(18,6)",
}


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


DIALECT = Dialect(
    kind="postgresql",
    types=TYPES,
    # Autovacuum analyzes late; a transform planned on a table it takes for empty nests loops (146 s
    # instead of 0.6 s for a 150k-row day in bench/), so large loads and temp tables are analyzed at once.
    capabilities=Capabilities(analyze_after_load=True),
    templates=Path(__file__).resolve().parent / "sql",
    is_transient=is_transient,
)
