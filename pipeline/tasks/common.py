"""Parameters and targets shared by the window tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import luigi

from pipeline.catalog import Source, catalog
from pipeline.progress import record_task
from pipeline.secrets import redact
from pipeline.warehouse import connection
from pipeline.warehouse import is_read_only as warehouse_read_only
from pipeline.windows import Window, window_at


class PipelineTask(luigi.Task):
    """A task of this pipeline: what it reports of a failure (to luigid, to logs) is redacted; a finished one
    counts in the run's progress with the rows it set in `progress_rows`."""

    progress_rows = 0

    def on_failure(self, exception: BaseException) -> str:
        return redact(super().on_failure(exception))

    def on_success(self) -> None:
        record_task(self.get_task_family(), self.progress_rows)


WAREHOUSE_WRITERS = "warehouse_writers"  # the Luigi resource: [resources] warehouse_writers
DEFAULT_WAREHOUSE_WRITERS = 3  # the ETL queue's slots (deploy/redshift/wlm.json)


class WritesWarehouse(luigi.Task):
    """A task that writes the warehouse holds one of [resources] warehouse_writers while it runs: however many
    worker processes and pods share one luigid, no more of them write at once than the ETL queue has slots
    (more would queue inside Redshift holding their connections, or fail on its connection limit)."""

    resources = {WAREHOUSE_WRITERS: 1}


class WindowTask(PipelineTask):
    """A task about one (region, window): the window is aligned and half-open, in UTC."""

    region = luigi.Parameter(description="region name, as in PIPELINE_SOURCES")
    window_start = luigi.DateMinuteParameter(description="UTC start of the window")
    window_minutes = luigi.IntParameter(description="window length in minutes")
    # Not part of the task's identity: two runs of the same window are one task to the scheduler, whichever
    # asked for a redo. Nothing is deleted to redo a window: its old markers just no longer count.
    redo_after = luigi.Parameter(default="", significant=False,
                                 description="`backfill --rerun`: done only if done again after this UTC moment")

    @cached_property
    def window(self) -> Window:
        return window_at(self.window_start, self.window_minutes)

    @property
    def done_after(self) -> dt.datetime:
        """Markers written before this do not count (the epoch unless a rerun asked otherwise)."""
        return dt.datetime.fromisoformat(self.redo_after) if self.redo_after else dt.datetime(1970, 1, 1)

    def window_params(self) -> dict[str, Any]:
        return {"region": self.region, "window_start": self.window_start, "window_minutes": self.window_minutes,
                "redo_after": self.redo_after}


class SourceWindowTask(WindowTask):
    """A window task about one source collection (sql/sources/<collection>.yml)."""

    collection = luigi.Parameter(description="source collection, as named by its file in sql/sources/")

    @property
    def source(self) -> Source:
        # Not cached: Luigi reuses task instances within a process, and the declaration may have changed.
        return catalog().source(self.collection)  # an undeclared name fails here, naming the declared ones


class WarehouseMarker(luigi.Target):
    """Exists when a marker query over an audit table counts at least one row."""

    def __init__(self, query_file: str, params: Mapping[str, Any]):
        self.query_file = query_file
        self.params = dict(params)

    def exists(self) -> bool:
        try:
            return connection().count(self.query_file, self.params) > 0
        except Exception:
            if warehouse_read_only():  # a --dry-run on a warehouse without the pipeline's tables yet
                return False
            raise


def window_bounds(window: Window) -> dict[str, dt.datetime]:
    return {"window_start": window.start, "window_end": window.end}
