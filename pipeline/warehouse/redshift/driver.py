"""Amazon Redshift connection (redshift-connector): COPY ... MANIFEST straight from S3."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline.config import ConfigError, WarehouseSettings, WarehouseUrl
from pipeline.secrets import redact
from pipeline.sqlfiles import quote_literal, render, statements
from pipeline.warehouse.base import Warehouse, WarehouseError, WarehouseUnavailable, verify_parts
from pipeline.warehouse.redshift import URL_FORM
from pipeline.warehouse.redshift.dialect import DIALECT, is_connection_error

_COPY_INTO = "copy {table} ({columns})"
FETCH_MAX_ROWS = 1000  # the most one FETCH may ask for on a single-node cluster
# Parts are gzip CSV with \N for NULL (see pipeline.convert); any bad row fails the whole COPY.
_COPY_OPTIONS = "manifest\nformat as csv\nnull as '\\\\N'\ngzip\ntimeformat 'auto'\nmaxerror 0"


@dataclass(frozen=True)
class CopyAuthorization:
    """How COPY reads S3: an IAM role (preferred: no secret in the statement) or access keys."""

    iam_role: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""

    @classmethod
    def from_environment(cls, iam_role: str) -> CopyAuthorization:
        if iam_role:
            return cls(iam_role=iam_role)
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not key or not secret:
            raise ConfigError("[warehouse] iam_role", "Redshift COPY needs an IAM role, or AWS_ACCESS_KEY_ID "
                                                      "and AWS_SECRET_ACCESS_KEY in the environment")
        return cls(access_key_id=key, secret_access_key=secret,
                   session_token=os.environ.get("AWS_SESSION_TOKEN", ""))

    def clause(self) -> str:
        if self.iam_role:
            return f"iam_role {quote_literal(self.iam_role)}"
        clause = (f"access_key_id {quote_literal(self.access_key_id)} "
                  f"secret_access_key {quote_literal(self.secret_access_key)}")
        if self.session_token:
            clause += f" session_token {quote_literal(self.session_token)}"
        return clause


def copy_sql(table: str, columns: Sequence[str], manifest_url: str, authorization: CopyAuthorization) -> str:
    """The COPY statement. Redshift cannot bind COPY options, so the URL and authorization are literals:
    the statement is never logged, and errors quote only what stl_load_errors says."""
    if not manifest_url.startswith("s3://"):
        raise ConfigError("PIPELINE_STORAGE_URL", "Redshift loads from S3 only", "s3://bucket/prefix")
    into = render(_COPY_INTO, table=table, columns=list(columns))
    return f"{into}\nfrom {quote_literal(manifest_url)}\n{authorization.clause()}\n{_COPY_OPTIONS}"


# PostgreSQL type OIDs (Redshift reports the same) -> how a value UNLOADed as CSV text is read back.
_FROM_TEXT: dict[int, Callable[[str], Any]] = {
    16: lambda text: text in ("t", "true"), 20: int, 21: int, 23: int, 700: float, 701: float, 1700: Decimal,
    1082: dt.date.fromisoformat, 1114: dt.datetime.fromisoformat,
}


def inline(sql: str, params: Mapping[str, Any]) -> str:
    """The query with its %(name)s values written as literals (and %% as %, as a bound query has it): UNLOAD
    and DECLARE take a query text, not bound values. Values are the pipeline's own parameters (dates, regions,
    client ids, numbers, keys), quoted as Redshift reads string literals."""
    def literal(match: re.Match[str]) -> str:
        if match[0] == "%%":
            return "%"
        value = params[match[1]]
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float, Decimal)):
            return str(value)
        if isinstance(value, (dt.date, dt.datetime)):
            return quote_literal(value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat())
        return quote_literal(str(value))

    return re.sub(r"%%|%\((\w+)\)s", literal, sql)


def unload_sql(query: str, prefix_url: str, authorization: CopyAuthorization) -> str:
    """UNLOAD the query's rows to gzip CSV parts under `prefix_url`, with a manifest listing them."""
    return (f"unload ({quote_literal(query)})\nto {quote_literal(prefix_url)}\n{authorization.clause()}\n"
            f"format as csv\nnull as '\\\\N'\ngzip\nmanifest\nparallel off\nallowoverwrite")


def unloaded_rows(store: Any, manifest_path: str, types: list[int], batch_size: int) -> Iterator[list[tuple]]:
    """The UNLOADed parts read back batch by batch, each value converted from its CSV text."""
    readers = [_FROM_TEXT.get(code, str) for code in types]
    manifest = json.loads(store.read_bytes(manifest_path))
    prefix = store.url("")
    for entry in manifest["entries"]:
        with store.open_read(entry["url"].removeprefix(prefix)) as raw, gzip.open(raw, "rt", encoding="utf-8",
                                                                                     newline="") as text:
            batch: list[tuple] = []
            for row in csv.reader(text):
                batch.append(tuple(None if value == "\\N" else read(value) for value, read in zip(row, readers)))
                if len(batch) == batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch


def copy_manifest(part_urls_and_sizes: list[tuple[str, int]]) -> dict:
    """The manifest format COPY ... MANIFEST reads: every part mandatory, sizes given."""
    return {"entries": [{"url": url, "mandatory": True, "meta": {"content_length": size}}
                        for url, size in part_urls_and_sizes]}


def copy_manifest_path(manifest_path: str) -> str:
    """Beside the window's manifest.json: the part list in the format COPY ... MANIFEST reads."""
    return manifest_path.rsplit("/", 1)[0] + "/copy.manifest"


class RedshiftWarehouse(Warehouse):
    """Over any DB-API connection with autocommit off: redshift-connector's in production. The driver
    keeps no transaction state of its own, so this class counts transaction() depth and commits only when
    the outermost one ends; a statement outside any transaction() runs in one of its own."""

    dialect = DIALECT

    def __init__(self, connection: Any, authorization: CopyAuthorization, query_group: str = ""):
        self._conn = connection
        self._authorization = authorization
        self._depth = 0
        self._broken = False
        self._group = query_group
        if query_group:  # the session's default label; WLM puts it in the ETL queue, not the dashboards'
            self.execute_alone(f"set query_group to {quote_literal(query_group)}")

    @classmethod
    def connect(cls, url: WarehouseUrl, iam_role: str = "", query_group: str = "") -> RedshiftWarehouse:
        import redshift_connector  # imported here: only Redshift deployments need it loaded

        parts = urlsplit(url.url)
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(url.setting, "redshift URL needs a host and a database", URL_FORM)
        authorization = CopyAuthorization.from_environment(iam_role)
        try:
            connection = redshift_connector.connect(
                host=parts.hostname, port=parts.port or 5439, database=parts.path.strip("/"),
                user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            )
        except Exception as error:  # the driver raises several unrelated types for one cause
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise WarehouseUnavailable(f"PIPELINE_WAREHOUSE_URL: cannot connect to {url}: {redact(reason)}",
                                       transient=DIALECT.is_transient(error)) from None
        connection.autocommit = False
        return cls(connection, authorization, query_group)

    def _cursor(self):
        if self._broken:
            raise WarehouseError("the Redshift connection broke earlier; a new one is needed")
        cursor = self._conn.cursor()
        if hasattr(cursor, "paramstyle"):
            cursor.paramstyle = "pyformat"  # the SQL files use %(name)s, as psycopg does
        return cursor

    def _run(self, cursor, sql: str, params: Mapping[str, Any] | None) -> None:
        try:
            cursor.execute(sql, params or None)
        except Exception as error:
            if is_connection_error(error):
                self._broken = True  # the next warehouse connection() opens a new one
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0 and not self._broken:
                self._conn.rollback()
            raise
        self._depth -= 1
        if self._depth == 0:
            self._conn.commit()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        with self.transaction():
            cursor = self._cursor()
            self._run(cursor, sql, params)
            return cursor.rowcount

    def query_table(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        with self.transaction():
            cursor = self._cursor()
            self._run(cursor, sql, params)
            return [column[0] for column in cursor.description or ()], [tuple(r) for r in cursor.fetchall()]

    @contextmanager
    def stream(self, sql: str, params: Mapping[str, Any], batch_size: int
               ) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
        # Through a cursor, FETCH by FETCH: redshift-connector holds every plain result whole in this process.
        # The leader node materializes the cursor's result (within the cluster's cursor size limits), so the
        # largest exports go through UNLOAD instead (export_rows). The cursor's name is new each time: the driver
        # caches a prepared statement per statement text, with the columns it returned. DECLARE takes the
        # query's values as literals, as UNLOAD does. The cursor ends with the transaction at the latest.
        name = f"streamed_{uuid.uuid4().hex}"
        fetch = f"fetch forward {min(int(batch_size), FETCH_MAX_ROWS)} from {name}"
        close = f"close {name}"
        with self.transaction():
            cursor = self._cursor()
            self._run(cursor, f"declare {name} cursor for\n{inline(sql, params)}", None)
            try:
                self._run(cursor, fetch, None)
                columns = [column[0] for column in cursor.description or ()]

                def batches() -> Iterator[list[tuple]]:
                    rows = cursor.fetchall()
                    while rows:
                        yield [tuple(row) for row in rows]
                        self._run(cursor, fetch, None)
                        rows = cursor.fetchall()

                yield columns, batches()
            except BaseException:
                if not self._broken:  # an aborted transaction refuses CLOSE: its rollback closes the cursor
                    with suppress(Exception):
                        self._run(self._cursor(), close, None)
                raise
            self._run(self._cursor(), close, None)

    @contextmanager
    def exporting(self) -> Iterator[None]:
        with self.query_group(WarehouseSettings().exports_query_group):
            yield

    @contextmanager
    def query_group(self, name: str) -> Iterator[None]:
        """Label the session's queries while inside: WLM routes them by it."""
        if self._depth:
            raise WarehouseError("query_group is set between transactions, not inside one")
        self.execute_alone(f"set query_group to {quote_literal(name)}")
        try:
            yield
        finally:
            if not self._broken:
                self.execute_alone(f"set query_group to {quote_literal(self._group)}" if self._group
                                   else "reset query_group")

    @contextmanager
    def export_rows(self, sql: str, params: Mapping[str, Any], batch_size: int, store: Any, unload_above: int
                    ) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
        """The query runs once. Above `unload_above` rows as the planner estimates them, it is UNLOADed to
        the lake and the parts are streamed back (and removed afterwards); otherwise it is read through a
        cursor a batch at a time (stream()): this process never holds a whole result, the leader node holds
        an underestimated one. (Counting the rows first ran every export query twice.)"""
        if unload_above and self.estimate_rows(sql, params) > unload_above:
            with self.transaction():
                cursor = self._cursor()
                self._run(cursor, f"select * from (\n{sql}\n) as export_rows limit 0", params)
                columns = [column[0] for column in cursor.description]
                types = [int(column[1]) for column in cursor.description]
            staging = f"unload/{uuid.uuid4().hex}/"
            self.execute(unload_sql(inline(sql, params), store.url(staging) + "part_", self._authorization))
            try:
                yield columns, unloaded_rows(store, staging + "part_manifest", types, batch_size)
            finally:
                store.remove_folder(staging)
            return
        with self.stream(sql, params, batch_size) as result:
            yield result

    def estimate_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        # The values as literals, as DECLARE and UNLOAD take them: the plan is made for them.
        return super().estimate_rows(inline(sql, params or {}), None)

    def execute_alone(self, sql: str) -> None:
        if self._depth:
            raise WarehouseError("a statement that must run alone was sent inside a transaction")
        self._conn.autocommit = True  # no BEGIN ... END around it
        try:
            self._run(self._cursor(), sql, None)
        finally:
            self._conn.autocommit = False

    def copy_parts(self, table: str, columns: Sequence[str], manifest: Mapping[str, Any], store: Any) -> int:
        # COPY reads the parts from S3 itself: each is checked first, as the PostgreSQL driver checks it while
        # streaming, or a part swapped for another of the same length and rows would load.
        verify_parts(manifest, store)
        manifest_path = copy_manifest_path(manifest["path"])
        store.write_bytes(manifest_path, json.dumps(copy_manifest(
            [(store.url(p["path"]), p["bytes"]) for p in manifest["parts"]]), indent=1).encode())
        statement = copy_sql(table, columns, store.url(manifest_path), self._authorization)
        with self.transaction():
            cursor = self._cursor()
            try:
                self._run(cursor, statement, None)
            except Exception as error:
                raise WarehouseError(self._describe_load_error(table, error)) from None
            return cursor.rowcount

    def _describe_load_error(self, table: str, error: Exception) -> str:
        # The failed COPY aborted the transaction; the lookup needs a fresh one.
        self._conn.rollback()
        try:
            (statement,) = statements(self.dialect.template("load_error.sql"))
            cursor = self._cursor()
            self._run(cursor, statement, None)
            rows = cursor.fetchall()
            self._conn.rollback()
        except Exception:  # the lookup is best effort; the COPY error itself is what matters
            rows = []
        if not rows:
            return f"COPY into {table} failed: {str(error).splitlines()[0]}"
        filename, line, column, raw_value, reason = (str(v).strip() for v in rows[0])
        return (f"COPY into {table} failed at {filename} line {line}, column {column}: {reason} "
                f"(raw value starts {raw_value[:40]!r})")  # a prefix: enough to find it, little customer text

    def close(self) -> None:
        self._conn.close()

    def usable(self) -> bool:
        return not self._broken
