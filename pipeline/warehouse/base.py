"""The warehouse interface: what the load and transform stages need, and the dialect-neutral parts."""

from __future__ import annotations

import datetime as dt
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipeline.catalog import Collection
from pipeline.config import WarehouseUrl
from pipeline.storage import ObjectStore
from pipeline.warehouse.sql import (
    create_temp_table,
    read_sql,
    render,
    schema_files,
    statements,
    transform_files,
)

logger = logging.getLogger(__name__)


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message says which and never contains credentials."""


@dataclass(frozen=True)
class LoadResult:
    staged: int
    inserted: int

    @property
    def kept_newer(self) -> int:
        """Staged rows not inserted because a newer version of the document was already loaded."""
        return self.staged - self.inserted


class Warehouse(ABC):
    """One connection to a warehouse. Subclasses supply the driver, transactions and COPY."""

    kind: str

    def __init__(self, url: WarehouseUrl):
        self.url = url

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

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit what runs inside on success, roll it all back on any error."""

    @abstractmethod
    def copy_parts(self, table: str, collection: Collection, manifest: Mapping[str, Any],
                   store: ObjectStore) -> int:
        """COPY the window's part files into `table`; return the rows copied."""

    @abstractmethod
    def close(self) -> None: ...

    def refresh_statistics(self, table: str, inserted: int) -> None:  # noqa: B027 (optional hook)
        """Keep planner statistics in step with large loads (a driver may do nothing: Redshift analyzes
        by itself)."""

    def usable(self) -> bool:
        """False once the connection broke; callers then open a new one."""
        return True

    # -- shared ------------------------------------------------------------------------------------
    def run_file(self, relative: str, params: Mapping[str, Any] | None = None, **identifiers: Any) -> list[int]:
        """Run each statement of a SQL file; return their row counts."""
        text = read_sql(relative)
        if identifiers:
            text = render(text, **identifiers)
        return [self.execute(statement, params or {}) for statement in statements(text)]

    def ensure_schema(self) -> None:
        """Create schemas, tables and helper functions unless every table exists already.

        Parallel workers may all get here on a new warehouse; one wins, the others retry and find it done."""
        files = schema_files(self.kind)
        expected = sum(read_sql(f).lower().count("create table") for f in files)
        for attempt in range(3):
            if self.count("load/schema_tables.sql", {}) >= expected:
                return
            try:
                with self.transaction():
                    for relative in files:
                        self.run_file(relative)
                return
            except Exception:  # a concurrent CREATE: the next check sees the winner's tables
                if attempt == 2:
                    raise
                time.sleep(0.5 * (attempt + 1))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run one query; return all its rows."""
        return self.query_table(sql, params)[1]

    def query_file(self, relative: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run the one query of a SQL file; return all its rows."""
        (statement,) = statements(read_sql(relative))
        return self.query(statement, params or {})

    def count(self, relative: str, params: Mapping[str, Any]) -> int:
        return int(self.query_file(relative, params)[0][0])

    def load_window(self, collection: Collection, manifest: Mapping[str, Any], store: ObjectStore,
                    audit: Mapping[str, Any]) -> LoadResult:
        """COPY into a private staging table, then merge and record the load in one transaction."""
        stage = f"stage_{collection.name}"
        loaded_at = audit["loaded_at"]
        with self.transaction():
            # A temp table is private to this connection, so parallel loads never share staging. Not
            # `(like target)`: that holds a lock on the target until commit, and two loads upgrading it
            # to merge.sql's exclusive lock would deadlock.
            self.execute(create_temp_table(stage, collection.file_column_types))
            staged = self.copy_parts(stage, collection, manifest, store) if manifest["parts"] else 0
            counts = self.run_file(
                "load/merge.sql", {"loaded_at": loaded_at}, target=collection.table,
                target_name=collection.table.split(".")[-1], stage=stage, columns=list(collection.file_columns),
            )
            result = LoadResult(staged=staged, inserted=counts[-1])  # merge.sql ends with the insert
            self.refresh_statistics(collection.table, result.inserted)
            self.run_file("load/record_load.sql", {**audit, "staged": result.staged,
                                                   "inserted": result.inserted,
                                                   "kept_newer": result.kept_newer})
            self.execute(render("drop table {stage}", stage=stage))
        return result

    def transform_window(self, region: str, window_start: dt.datetime, window_end: dt.datetime,
                         transformed_at: dt.datetime) -> None:
        """Rebuild what the window touched in every analytics model, and record it, in one transaction."""
        params = {"region": region, "window_start": window_start, "window_end": window_end,
                  "transformed_at": transformed_at}
        with self.transaction():
            for relative in transform_files():
                self.run_file(relative, params)
