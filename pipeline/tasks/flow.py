"""Wrapper tasks over many windows: Backfill (any range) and Sync (closed windows since the last load)."""

from __future__ import annotations

import datetime as dt

import luigi

from pipeline.catalog import CATALOG
from pipeline.config import source_uris, windows
from pipeline.paths import manifest_path, window_prefix
from pipeline.storage import ObjectStore
from pipeline.tasks.common import warehouse_connection
from pipeline.tasks.transform import TransformWindow
from pipeline.warehouse.sql import read_sql, statements
from pipeline.windows import closed_windows, floor_time, windows_between


class Backfill(luigi.WrapperTask):
    """Every region's windows covering [start, end), extracted, loaded and transformed (idempotent)."""

    start = luigi.DateMinuteParameter(description="UTC start (inclusive)")
    end = luigi.DateMinuteParameter(description="UTC end (exclusive)")
    window_minutes = luigi.OptionalIntParameter(default=None,
                                                description="window length; default [windows] backfill_minutes")

    def requires(self) -> list[luigi.Task]:
        minutes = self.window_minutes or windows().backfill_minutes
        return [
            TransformWindow(region=region, window_start=window.start, window_minutes=minutes)
            for window in windows_between(self.start, self.end, minutes)
            for region in source_uris()
        ]


def forget_windows(start: dt.datetime, end: dt.datetime, window_minutes: int | None) -> int:
    """Drop the completion markers of every window in [start, end) so the next run redoes them from
    the source: manifests in the store, audit rows in the warehouse. Returns the windows forgotten."""
    minutes = window_minutes or windows().backfill_minutes
    store = ObjectStore.from_config()
    connection = warehouse_connection()
    due = windows_between(start, end, minutes)
    for region in source_uris():
        for window in due:
            for name in CATALOG:
                manifest = store.target(manifest_path(window_prefix(region, name, window)))
                if manifest.exists():
                    manifest.remove()
            with connection.transaction():
                connection.run_file("load/forget_window.sql",
                                    {"region": region, "window_start": window.start, "window_end": window.end})
    return len(due) * len(source_uris())


def last_synced(region: str) -> dt.datetime | None:
    """End of the latest window that every collection of the region has loaded, if any."""
    (statement,) = statements(read_sql("load/last_synced.sql"))
    rows = warehouse_connection().query(statement, {"region": region})
    return rows[0][0] if rows and rows[0][0] else None


class Sync(luigi.WrapperTask):
    """Closed windows after the last loaded one, up to `now` minus the lag, at most max_windows_per_run."""

    now = luigi.DateMinuteParameter(description="the run's notion of now (UTC); fixes which windows are closed")

    def requires(self) -> list[luigi.Task]:
        config = windows()
        minutes = config.sync_minutes
        lookback = floor_time(self.now - dt.timedelta(hours=config.initial_lookback_hours), minutes)
        tasks = []
        for region in source_uris():
            since = last_synced(region) or lookback
            due = closed_windows(since, self.now, minutes, config.lag_minutes)[: config.max_windows_per_run]
            tasks += [TransformWindow(region=region, window_start=w.start, window_minutes=minutes) for w in due]
        return tasks
