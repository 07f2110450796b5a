"""PostgreSQL connection (psycopg 3): part files are streamed from the object store into COPY FROM STDIN."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from pipeline.config import WarehouseSettings, WarehouseUrl
from pipeline.secrets import redact
from pipeline.sqlfiles import render, statements
from pipeline.warehouse.base import CHUNK, CheckedReader, Warehouse, WarehouseError, WarehouseUnavailable
from pipeline.warehouse.postgresql.dialect import DIALECT, is_transient_connect

# How the pipeline's sessions show in pg_stat_activity: `pipeline status` finds their lock waits by it.
APPLICATION_NAME = "analytics-pipeline"


class PostgresWarehouse(Warehouse):
    dialect = DIALECT

    def __init__(self, url: WarehouseUrl, connect_timeout: int = 10):
        try:
            # Autocommit outside transaction(): a read never leaves a transaction open (and locks held).
            self._conn = psycopg.connect(url.url, autocommit=True, connect_timeout=connect_timeout,
                                         application_name=APPLICATION_NAME)
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise WarehouseUnavailable(f"PIPELINE_WAREHOUSE_URL: cannot connect to {url}: {redact(reason)}",
                                       transient=is_transient_connect(error)) from None
        except psycopg.Error:
            # The driver quotes the offending part of the URL, which may be the password: say less.
            raise WarehouseError(f"PIPELINE_WAREHOUSE_URL: malformed URL {url} (percent-encode special "
                                 f"characters such as @ : / % in the password)") from None

        # A lock another session holds (a migration, a forgotten `begin`) ends a wait after this long, where the
        # merge or transform names it (Warehouse.lock); no setting waits forever.
        self._conn.execute("select set_config('lock_timeout', %s, false)",
                           (f"{WarehouseSettings().lock_timeout_seconds}s",))

    def lock_waits(self) -> list[str]:
        (statement,) = statements(self.dialect.template("lock_waits.sql"))
        return [f"session {row['waiting_pid']} waits since {row['waiting_since']:%Y-%m-%d %H:%M:%S} for a lock on "
                f"{row['wanted_table'] or 'a table'} held by session {row['holder_pid']} (user {row['holder_user']}, "
                f"{row['holder_application'] or 'no application name'}, in a transaction since "
                f"{row['holder_since']:%Y-%m-%d %H:%M:%S})"
                for row in self.query_records(statement, {"application": APPLICATION_NAME})]

    def lock_holders(self, table: str) -> list[str]:
        (statement,) = statements(self.dialect.template("lock_holders.sql"))
        return [f"session {row['pid']} (user {row['user_name']}, {row['application'] or 'no application name'}, from "
                f"{row['client'] or 'local'}, in a transaction since {row['since']:%Y-%m-%d %H:%M:%S}, {row['state']})"
                for row in self.query_records(statement, {"table": table})]

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def query_table(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, params)
            return [column.name for column in cursor.description], cursor.fetchall()

    @contextmanager
    def stream(self, sql: str, params: Mapping[str, Any], batch_size: int
               ) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
        # A named (server-side) cursor sends rows batch by batch; it needs a transaction (a savepoint when
        # nested in one) around it.
        with self._conn.transaction(), self._conn.cursor(name="pipeline_stream") as cursor:
            cursor.itersize = batch_size
            cursor.execute(sql, params)
            columns = [column.name for column in cursor.description]
            yield columns, iter(lambda: cursor.fetchmany(batch_size), [])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn.transaction():  # nested: a savepoint; only the outermost commits
            yield

    def copy_parts(self, table: str, columns: Sequence[str], manifest: Mapping[str, Any], store: Any) -> int:
        (statement,) = statements(render(self.dialect.template("copy.sql"), table=table, columns=list(columns)))
        with self._conn.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for part in manifest["parts"]:
                    # Decompress as we go: memory stays at one chunk whatever the window's size.
                    with store.open_read(part["path"]) as raw:
                        checked = CheckedReader(raw, part)
                        try:
                            with gzip.GzipFile(fileobj=checked) as stream:
                                while chunk := stream.read(CHUNK):
                                    copy.write(chunk)
                        except (EOFError, gzip.BadGzipFile, zlib.error):
                            checked.verify()  # names the part; a part that verifies but is no gzip:
                            raise
                        checked.verify()
            return cursor.rowcount

    def row_estimate(self, table: str) -> float:
        return float(self.query("select reltuples from pg_class where oid = cast(%(table)s as regclass)",
                                {"table": table})[0][0])

    def close(self) -> None:
        self._conn.close()

    def usable(self) -> bool:
        return not (self._conn.closed or self._conn.broken)
