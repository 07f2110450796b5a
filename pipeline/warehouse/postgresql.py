"""PostgreSQL warehouse (psycopg 3): part files are streamed from the object store into COPY FROM STDIN."""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

from pipeline.catalog import Collection
from pipeline.config import WarehouseUrl, redact_text
from pipeline.storage import ObjectStore
from pipeline.warehouse.base import Warehouse, WarehouseError
from pipeline.warehouse.sql import render

_COPY = "copy {table} ({columns}) from stdin with (format csv, null '\\N')"
_CHUNK = 1 << 20


class PostgresWarehouse(Warehouse):
    kind = "postgresql"

    def __init__(self, url: WarehouseUrl, connect_timeout: int = 10):
        super().__init__(url)
        try:
            self._conn = psycopg.connect(url.url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise WarehouseError(f"PIPELINE_WAREHOUSE_URL: cannot connect to {url}: {redact_text(reason)}") from None
        except psycopg.Error:
            # The driver quotes the offending part of the URL, which may be the password: say less.
            raise WarehouseError(f"PIPELINE_WAREHOUSE_URL: malformed URL {url} (percent-encode special "
                                 f"characters such as @ : / % in the password)") from None

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
        # A named (server-side) cursor sends rows batch by batch; it needs a transaction around it.
        with self._conn.transaction(), self._conn.cursor(name="pipeline_stream") as cursor:
            cursor.itersize = batch_size
            cursor.execute(sql, params)
            columns = [column.name for column in cursor.description]
            yield columns, iter(lambda: cursor.fetchmany(batch_size), [])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn.transaction():
            yield

    def copy_parts(self, table: str, collection: Collection, manifest: Mapping[str, Any],
                   store: ObjectStore) -> int:
        statement = render(_COPY, table=table, columns=list(collection.file_columns))
        with self._conn.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for part in manifest["parts"]:
                    # Decompress as we go: memory stays at one chunk whatever the window's size.
                    with store.open_read(part["path"]) as raw, gzip.GzipFile(fileobj=raw) as stream:
                        while chunk := stream.read(_CHUNK):
                            copy.write(chunk)
            return cursor.rowcount

    def close(self) -> None:
        self._conn.close()

    def refresh_statistics(self, table: str, inserted: int) -> None:
        # Without statistics (a new table, or autovacuum not yet round) the planner takes a big table for a
        # tiny one and the transforms' joins turn into nested loops: 146 s instead of 0.6 s for a 150k-row
        # day in bench/. So analyze when a load adds a tenth of the table, as autovacuum would, but now.
        (estimated,) = self.query("select reltuples from pg_class where oid = cast(%(table)s as regclass)",
                                  {"table": table})[0]
        if inserted >= max(1000, 0.1 * estimated):
            self.execute(render("analyze {table}", table=table))

    def usable(self) -> bool:
        return not (self._conn.closed or self._conn.broken)
