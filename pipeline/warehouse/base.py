"""The warehouse interface every kind implements, and the description of a kind (its dialect)."""

from __future__ import annotations

import hashlib
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.catalog import Column, Table
from pipeline.sqlfiles import Filling, quote_ident, read_sql, render, statements

SHARED_TEMPLATES = Path(__file__).resolve().parent / "sql"
CHUNK = 1 << 20
MAX_VARCHAR = 65535
# A table that grows by this share (and at least this many rows) gets fresh planner statistics at once.
ANALYZE_SHARE, ANALYZE_MIN_ROWS = 0.1, 1000


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message says which and never contains credentials."""


class LockTimeout(WarehouseError):
    """A table stayed locked by another session longer than [warehouse] lock_timeout_seconds; the message names
    the table and the sessions holding it."""


class WarehouseUnavailable(WarehouseError):
    """No connection could be opened; `transient` when the kind says a later attempt may succeed (refused or
    reset while the server restarts), not for a wrong password or database."""

    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Capabilities:
    """What differs in behaviour between kinds, as flags the stages read."""

    analyze_after_load: bool  # refresh planner statistics by hand after large loads and on temp tables
    alter_column_in_transaction: bool = True  # ALTER COLUMN ... TYPE may run inside a transaction block
    backslash_escapes: bool = False  # a backslash in a string literal escapes the next character


@dataclass(frozen=True)
class Dialect:
    """One warehouse kind: its types, capabilities, transient errors and the SQL templates that differ."""

    kind: str
    types: Mapping[str, str]  # declared type -> DDL type; "{length}" is the column's max_length (text, json)
    capabilities: Capabilities
    templates: Path  # the kind's own SQL templates; the others come from pipeline/warehouse/sql/
    is_transient: Callable[[BaseException], bool]
    # the clauses after CREATE TABLE's column list (physical design from the declaration's warehouse hints)
    table_options: Callable[[Table], str] = lambda table: ""
    # statements that bring a table's physical design (indexes, keys) to its declaration, from what the kind's
    # existing_physical.sql found for it (None: the table is being created)
    physical_plan: Callable[[Table, set[str] | None], list[str]] = lambda table, existing: []
    # what follows a column's type in CREATE TABLE (Redshift: its declared compression encoding)
    column_options: Callable[[Table, Column], str] = lambda table, column: ""
    # whether an error is the kind's "gave up waiting for a lock" (PostgreSQL: lock_timeout)
    is_lock_timeout: Callable[[BaseException], bool] = lambda error: False
    # whether an error says a table the query reads does not exist (SQLSTATE 42P01 in the PostgreSQL family)
    is_missing_table: Callable[[BaseException], bool] = lambda error: False
    # what is wrong with a table's declared warehouse hints for this kind, a sentence each naming the file
    # (Redshift: an encoding it does not have); checked before any table is planned
    check_table: Callable[[Table], list[str]] = lambda table: []
    # `where:line: construct` for each construct of SQL text (written in PostgreSQL's syntax, as every SQL file
    # and generated statement is) that the kind rejects; `pipeline sql-check`, doctor and the suite run it.
    # None: the kind runs all of it (PostgreSQL).
    rejected: Callable[[str, str, int], list[str]] | None = None
    # the kind this one derives from (a PostgreSQL-compatible database): its templates come before the shared ones
    extends: Dialect | None = None

    def column_type(self, column: Column) -> str:
        return self.types[column.type].format(length=column.max_length or MAX_VARCHAR)

    def canonical_type(self, column: Column) -> str:
        """The type as the catalog reports it (format_type), to compare a declaration with a table."""
        ddl = self.column_type(column)
        return {"timestamp": "timestamp without time zone"}.get(ddl, ddl.replace("varchar", "character varying"))

    def literal(self, text: str) -> str:
        """A string literal, for the statements that take no bound value (COMMENT ON)."""
        if self.capabilities.backslash_escapes:
            text = text.replace("\\", "\\\\")
        return "'" + text.replace("'", "''") + "'"

    def template(self, name: str) -> str:
        """A SQL template, its comment lines dropped (their placeholders are words, not filled): the kind's own
        file if it has one, else the one of the kind it extends, else the shared one."""
        text = read_sql(name, self.template_folder(name))
        return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))

    def statement(self, template: str, /, **fillings: Filling) -> str:
        """A one-statement template, filled: split before filling, so SQL placed as a Fragment (a model's query)
        is never split on a `;` of its own."""
        (text,) = statements(self.template(template))
        return render(text, **fillings)

    def has_template(self, name: str) -> bool:
        """Whether the kind (or the one it extends, or the shared folder) has this template: setup.sql is a
        kind's own, for what a new warehouse needs."""
        return (self.template_folder(name) / name).is_file()

    def template_folder(self, name: str) -> Path:
        if (self.templates / name).is_file():
            return self.templates
        return self.extends.template_folder(name) if self.extends else SHARED_TEMPLATES

    def create_table(self, table: Table | str, columns: Sequence[Column], temporary: bool = False) -> str:
        """CREATE [TEMP] TABLE from declared columns; names quoted, types from the fixed mapping."""
        name = table if isinstance(table, str) else table.name
        definitions = ",\n    ".join(
            f"{quote_ident(c.name)} {self.column_type(c)}{'' if c.nullable else ' not null'}"
            f"{'' if temporary or isinstance(table, str) else self.column_options(table, c)}" for c in columns)
        options = "" if temporary or isinstance(table, str) else self.table_options(table)
        return f"create {'temp ' if temporary else ''}table {quote_ident(name)} (\n    {definitions}\n){options}"


class CheckedReader(io.RawIOBase):
    """Reads a part as stored while counting and hashing its bytes, to compare with what the extract wrote."""

    def __init__(self, raw: IO[bytes], part: Mapping[str, Any]):
        self.raw, self.part = raw, part
        self.size, self.digest = 0, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.size += len(data)
        self.digest.update(data)
        return len(data)

    def verify(self) -> None:
        while self.readinto(bytearray(CHUNK)):  # gzip may stop before trailing bytes: count them too
            pass
        expected = (self.part["bytes"], self.part.get("sha256", self.digest.hexdigest()))
        if (self.size, self.digest.hexdigest()) != expected:
            raise WarehouseError(f"part {self.part['path']} is {self.size} bytes with another checksum than the "
                                 f"{self.part['bytes']} bytes its manifest lists: it was changed or cut short; "
                                 f"extract the window again (pipeline backfill --rerun)") from None



def verify_parts(manifest: Mapping[str, Any], store: Any) -> None:
    """Read each of the manifest's parts as stored and check its size and sha256 against the manifest, for a
    kind whose COPY reads the object store itself (and would load a part swapped for another)."""
    for part in manifest["parts"]:
        with store.open_read(part["path"]) as raw:
            CheckedReader(raw, part).verify()


class Warehouse(ABC):
    """One connection to a warehouse. Contract of transaction(): nothing run inside it commits, whatever
    the method (execute, query, stream, copy_parts); it commits on success and rolls back on any error."""

    dialect: Dialect

    # -- driver-specific -------------------------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; return its row count."""

    @abstractmethod
    def query_table(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Run one query; return its column names and rows."""

    @abstractmethod
    @contextmanager
    def stream(self, sql: str, params: Mapping[str, Any], batch_size: int
               ) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
        """Run one query and yield its column names and an iterator of row batches, holding at most one
        batch in memory where the driver allows it."""

    @contextmanager
    def export_rows(self, sql: str, params: Mapping[str, Any], batch_size: int, store: Any, unload_above: int
                    ) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
        """An export query's columns and row batches; a kind whose client buffers whole results may go
        through the object store for more than `unload_above` rows. By default: stream()."""
        with self.stream(sql, params, batch_size) as result:
            yield result

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit what runs inside on success, roll it all back on any error; nestable."""

    @abstractmethod
    def copy_parts(self, table: str, columns: Sequence[str], manifest: Mapping[str, Any], store: Any) -> int:
        """COPY the window's part files (listed in its manifest, read from the object store) into `table`;
        return the rows copied."""

    @abstractmethod
    def close(self) -> None: ...

    def usable(self) -> bool:
        """False once the connection broke; callers then open a new one."""
        return True

    def execute_alone(self, sql: str) -> None:
        """Run one statement that may not stand in a transaction block, committed by itself; never call it
        inside transaction()."""
        self.execute(sql)

    @contextmanager
    def exporting(self) -> Iterator[None]:
        """While an export's query runs: a kind that routes workloads labels the session's queries (Redshift: its
        exports query group, for WLM); nothing elsewhere."""
        yield

    def row_estimate(self, table: str) -> float:
        """The planner's row count of a table (-1 when it was never analyzed)."""
        return 0.0

    def estimate_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """The rows the planner expects a query to return (EXPLAIN's top node); the query is not run."""
        plan = [str(row[0]) for row in self.query(f"explain\n{sql}", params)]
        found = re.search(r"\brows=(\d+)", plan[0]) if plan else None
        if not found:
            raise WarehouseError(f"no row estimate in the plan: {plan[:1]}")
        return int(found[1])

    def lock_waits(self) -> list[str]:
        """The pipeline's sessions waiting for a lock now, each with the table and the session holding it (the
        kind's lock_waits.sql); none where the kind does not tell."""
        return []

    def lock_holders(self, table: str) -> list[str]:
        """The other sessions holding a lock on the table, described for an operator (the kind's
        lock_holders.sql: session, user, application, client, since when, state)."""
        return []

    # -- shared ------------------------------------------------------------------------------------
    def lock(self, tables: Sequence[str]) -> None:
        """Serialize writers of these tables until the transaction ends (the kind's lock.sql). A wait longer than
        the kind's lock timeout raises LockTimeout naming the sessions that hold them; call inside a
        transaction."""
        try:
            with self.transaction():  # a savepoint: after a timeout the transaction can still name the holders
                self.run_template("lock.sql", tables=list(tables))
        except Exception as error:
            if not self.dialect.is_lock_timeout(error):
                raise
            holders = {table: self.lock_holders(table) for table in tables}
            named = "; ".join(f"{table} by {', '.join(found)}" for table, found in holders.items() if found)
            raise LockTimeout(f"gave up waiting for a lock on {', '.join(tables)} after [warehouse] "
                              f"lock_timeout_seconds: held {named or 'by a session that has ended since'}; the next "
                              f"run retries") from None

    def analyze(self, table: str, columns: Sequence[str] = ()) -> None:
        """Fresh planner statistics for the table, or only for `columns` (a third of the time on a stage table
        whose other columns no query filters or joins on)."""
        if self.dialect.capabilities.analyze_after_load:
            self.execute(render("analyze {table} ({columns})" if columns else "analyze {table}", table=table,
                                columns=list(columns)))

    def refresh_statistics(self, table: str, added_rows: int) -> None:
        """Analyze a table that just grew by a tenth or more (as autovacuum would, but before the next query
        is planned on it), where the kind needs it."""
        if not (self.dialect.capabilities.analyze_after_load and added_rows > 0):
            return
        estimate = self.row_estimate(table)
        # Never analyzed: the planner takes it for empty and picks indexes at random (a merge probed the wrong
        # one 998 times: 0.11 s instead of 0.01 s for 1,000 answers), however few rows came in.
        if estimate < 0 or added_rows >= max(ANALYZE_MIN_ROWS, ANALYZE_SHARE * estimate):
            self.analyze(table)

    def run_statements(self, text: str, params: Mapping[str, Any] | None = None) -> list[int]:
        return [self.execute(statement, params or {}) for statement in statements(text)]

    def run_file(self, relative: str, params: Mapping[str, Any] | None = None) -> list[int]:
        """Run each statement of a project SQL file (sql/...); return their row counts."""
        return self.run_statements(read_sql(relative), params)

    def run_template(self, name: str, params: Mapping[str, Any] | None = None, **identifiers: Any) -> list[int]:
        """Run each statement of a dialect template with its identifiers filled in."""
        return self.run_statements(render(self.dialect.template(name), **identifiers), params)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    batch: int = 500) -> int:
        """Insert rows with bound values, many per statement (one statement per row is slow on Redshift)."""
        names = ", ".join(quote_ident(c) for c in columns)
        inserted = 0
        for first in range(0, len(rows), batch):
            chunk = rows[first:first + batch]
            values = {f"v{i}_{j}": value for i, row in enumerate(chunk) for j, value in enumerate(row)}
            tuples = ",\n".join("(" + ", ".join(f"%(v{i}_{j})s" for j in range(len(columns))) + ")"
                                for i in range(len(chunk)))
            inserted += self.execute(f"insert into {quote_ident(table)} ({names})\nvalues {tuples}", values)
        return inserted

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run one query; return all its rows."""
        return self.query_table(sql, params)[1]

    def query_file(self, relative: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run the one query of a project SQL file; return all its rows."""
        return self.query(_one_statement(relative), params or {})

    def records(self, relative: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run the one query of a project SQL file; return its rows as {column: value}, read by name."""
        return self.query_records(_one_statement(relative), params)

    def records_if_made(self, relative: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """records(), or none while a table it reads is not made yet (a fresh warehouse: nothing delivered, no
        analytics); any other error raises. Outside transaction() only: a failed statement ends a transaction."""
        try:
            return self.records(relative, params)
        except Exception as error:
            if self.dialect.is_missing_table(error):
                return []
            raise

    def query_records(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one query; return its rows as {column: value}, read by name."""
        columns, rows = self.query_table(sql, params or {})
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def count(self, relative: str, params: Mapping[str, Any]) -> int:
        return int(self.query_file(relative, params)[0][0])


def _one_statement(relative: str) -> str:
    """The one statement of a project SQL file (a query file holds exactly one)."""
    (statement,) = statements(read_sql(relative))
    return statement
