"""Wrapper tasks over many windows: Backfill (any range), Sync (closed windows since the last load), Transform
(stale models of transformed windows) and Refresh (models over all history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import luigi

from pipeline.catalog import Model, catalog
from pipeline.config import WindowSettings, source_uris
from pipeline.tasks.transform import BuildModels, FullRefresh, TransformWindow
from pipeline.warehouse import connection as warehouse_connection
from pipeline.warehouse import is_read_only as warehouse_read_only
from pipeline.windows import (
    Window,
    check_window_minutes,
    closed_windows,
    coalesced,
    floor_time,
    rebuild_spans,
    utcnow,
    windows_between,
)


class Backfill(luigi.WrapperTask):
    """Every region's windows covering [start, end), extracted, loaded and transformed (idempotent)."""

    start = luigi.DateMinuteParameter(description="UTC start (inclusive)")
    end = luigi.DateMinuteParameter(description="UTC end (exclusive)")
    window_minutes = luigi.OptionalIntParameter(default=None,
                                                description="window length; default [windows] backfill_minutes")
    redo_after = luigi.Parameter(default="", significant=False,
                                 description="redo windows done before this UTC moment (`--rerun`)")
    force = luigi.BoolParameter(default=False, significant=False,
                                description="allow more windows than [windows] max_windows_per_command")

    def requires(self) -> list[luigi.Task]:
        # Checked here, not only by the `pipeline` command: `luigi --module pipeline.tasks Backfill` gets the same
        # refusals (a scheduling error, non-zero by luigi.cfg's [retcode]).
        if not hasattr(self, "_windows"):
            minutes = self.window_minutes or WindowSettings().backfill_minutes
            check_range(self.start, self.end, minutes, self.force)
            closed = backfill_windows(self.start, self.end, minutes)
            if not closed:
                raise RangeRefused(f"no closed {minutes}-minute window in {self.start:%Y-%m-%d %H:%M} .. "
                                   f"{self.end:%Y-%m-%d %H:%M} yet (a window is processed once it ended "
                                   f"{WindowSettings().lag_minutes} minutes ago)")
            self._windows = [TransformWindow(region=region, window_start=window.start, window_minutes=minutes,
                                             redo_after=self.redo_after)
                             for window in closed for region in source_uris()]
        return self._windows


class RangeRefused(ValueError):
    """A backfill or verify range that is backwards, too long without --force, or not closed yet."""


def check_range(start: dt.datetime, end: dt.datetime, minutes: int, force: bool) -> None:
    """An end after the start, and no more windows than [windows] max_windows_per_command unless forced."""
    if end <= start:
        raise RangeRefused("--end must be after --start (it is exclusive)")
    limit = WindowSettings().max_windows_per_command
    count = int((end - start).total_seconds() // 60 // minutes) + 1
    if count > limit and not force:
        raise RangeRefused(f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} holds about {count:,} {minutes}-minute "
                           f"windows per region, more than [windows] max_windows_per_command ({limit:,}); narrow "
                           f"the range or pass --force")


def backfill_windows(start: dt.datetime, end: dt.datetime, minutes: int, now: dt.datetime | None = None
                     ) -> list[Window]:
    """The windows covering [start, end) that are closed: a window still open (its end after now minus the
    lag) would be marked done with part of its documents missing, and never read again."""
    horizon = (now or utcnow()) - dt.timedelta(minutes=WindowSettings().lag_minutes)
    return [w for w in windows_between(start, end, minutes) if w.end <= horizon]


def _records(relative: str, params: dict) -> list[dict[str, Any]]:
    """A marker query's rows, by name; none on a warehouse without the pipeline's tables during a --dry-run."""
    try:
        return warehouse_connection().records(relative, params)
    except Exception:
        if warehouse_read_only():
            return []
        raise


def windows_due(region: str, now: dt.datetime) -> list[Window]:
    """Closed windows not yet transformed, oldest first, at most max_windows_per_run.

    Nothing transformed yet: from `initial_lookback_hours` ago. Otherwise from the earlier of the latest
    transformed window's end (catch-up after an outage) and the retry horizon (a window that failed within
    it is retried, not stepped over), but never before the first transformed window. A `now` in the future
    counts as the present: a window that has not closed yet is never done, whatever the caller says."""
    now = min(now, utcnow())
    config = WindowSettings()
    minutes = config.sync_minutes
    (bounds,) = _records("load/sync_bounds.sql", {"region": region}) or [{"first_start": None, "last_end": None}]
    first, last = bounds["first_start"], bounds["last_end"]
    if last is None:
        since = floor_time(now - dt.timedelta(hours=config.initial_lookback_hours), minutes)
    else:
        since = max(first, min(last, floor_time(now - dt.timedelta(hours=config.retry_horizon_hours), minutes)))
    done = _windows(_records("load/transformed_windows.sql", {"region": region, "since": since}))
    due = [w for w in closed_windows(since, now, minutes, config.lag_minutes) if not covered(w, done)]
    # A backlog old enough never to be read again (windows_to_reread) is read in catch-up windows.
    settled = now - dt.timedelta(minutes=config.backdated_lookback_minutes)
    return coalesced(due, check_window_minutes(config.catch_up_minutes), settled)[: config.max_windows_per_run]


def covered(window: Window, done: list[Window]) -> bool:
    """Whether one transformed window contains this one (a backfill's whole day covers its 15 minutes)."""
    return any(transformed.start <= window.start and window.end <= transformed.end for transformed in done)


def _windows(rows: list[dict[str, Any]]) -> list[Window]:
    return [Window(row["window_start"], row["window_end"]) for row in rows]


def windows_to_reread(region: str, now: dt.datetime) -> list[Window]:
    """Sync windows read only before they were `backdated_lookback_minutes` old, now that they are: a write
    dated into a window after its first read (a backdated `updated_at`) is caught by this second read, which
    merges idempotently. Each window is read at most twice; older ones are left alone (retry horizon)."""
    now = min(now, utcnow())
    config = WindowSettings()
    lookback = dt.timedelta(minutes=config.backdated_lookback_minutes)
    if not lookback:
        return []
    since = now - lookback - dt.timedelta(hours=config.retry_horizon_hours)
    rows = _records("load/first_reads.sql", {"region": region, "since": since, "until": now - lookback})
    minutes = dt.timedelta(minutes=config.sync_minutes)
    return [window for window, row in zip(_windows(rows), rows, strict=True)
            if window.end - window.start == minutes and row["first_loaded"] < window.end + lookback
            ][: config.max_windows_per_run]


class Sync(luigi.WrapperTask):
    """Per region, the closed windows not yet transformed, up to `now` minus the lag (see windows_due), the
    windows due for their second read (see windows_to_reread), and the newest spans of stale models (see
    stale_rebuilds)."""

    now = luigi.DateMinuteParameter(description="the run's notion of now (UTC); fixes which windows are closed")

    def requires(self) -> list[luigi.Task]:
        # Computed once: as windows get done during the run, a fresh computation would move the goalposts.
        if not hasattr(self, "_due"):
            minutes = WindowSettings().sync_minutes
            lookback = dt.timedelta(minutes=WindowSettings().backdated_lookback_minutes)
            self._due = [TransformWindow(region=region, window_start=window.start, window_minutes=window.minutes)
                         for region in source_uris() for window in windows_due(region, self.now)]
            # Redone if done before the window was old enough: the same moment for every run, so a collection
            # already read again (by this run or an overlapping one) is not read a third time.
            self._due += [TransformWindow(region=region, window_start=window.start, window_minutes=minutes,
                                          redo_after=(window.end + lookback).isoformat())
                          for region in source_uris() for window in windows_to_reread(region, self.now)]
            self._due += stale_rebuilds(self.now)
        return self._due


def stale_rebuilds(now: dt.datetime) -> list[BuildModels]:
    """Per region, the newest spans (days) whose models are stale, at most [windows] max_rebuilds_per_sync: a
    model change reaches the recent data at the next sync, and the history over the following ones."""
    models = list(catalog().models.values())
    limit, cell = WindowSettings().max_rebuilds_per_sync, WindowSettings().backfill_minutes
    if limit <= 0:
        return []
    return [BuildModels(region=region, window_start=span.start, window_minutes=span.minutes,
                        models=[model.name for model in models])
            for region in source_uris()
            for span in rebuild_spans(stale_windows(region, dt.datetime(1970, 1, 1), now, models,
                                                    dt.datetime(1970, 1, 1)), cell)[-limit:]]


def chosen_models(names: tuple[str, ...] | list[str]) -> list[Model]:
    """The named models and their dependents; every model when none is named."""
    project = catalog()
    return project.with_dependents(names) if names else list(project.models.values())


def stale_windows(region: str, start: dt.datetime, end: dt.datetime, models: list[Model], done_after: dt.datetime
                  ) -> list[Window]:
    """The transformed windows of a region overlapping [start, end) that one of `models` as defined now did not
    build (since done_after)."""
    found: set[Window] = set()
    for model in models:
        found.update(_windows(_records("transform/stale_windows.sql", {
            "region": region, "start": start, "end": end, "model": model.name, "fingerprint": model.fingerprint,
            "done_after": done_after})))
    return sorted(found)


class Transform(luigi.WrapperTask):
    """The models (default: those defined anew since they built a window) of every transformed window
    overlapping [start, end), rebuilt from the raw tables a day at a time: nothing is extracted or loaded."""

    start = luigi.DateMinuteParameter(description="UTC start (inclusive)")
    end = luigi.DateMinuteParameter(description="UTC end (exclusive)")
    models = luigi.ListParameter(default=(), description="rebuild these and their dependents even if current")
    redo_after = luigi.Parameter(default="", significant=False,
                                 description="with models: rebuild what was built before this UTC moment")

    def requires(self) -> list[luigi.Task]:
        if not hasattr(self, "_spans"):
            if self.end <= self.start:
                raise RangeRefused("--end must be after --start (it is exclusive)")
            chosen = chosen_models(self.models)
            done_after = dt.datetime.fromisoformat(self.redo_after) if self.redo_after else dt.datetime(1970, 1, 1)
            cell = WindowSettings().backfill_minutes
            self._spans = [BuildModels(region=region, window_start=span.start, window_minutes=span.minutes,
                                       models=[m.name for m in chosen], redo_after=self.redo_after)
                           for region in source_uris()
                           for span in rebuild_spans(stale_windows(region, self.start, self.end, chosen, done_after),
                                                     cell)]
        return self._spans


class Refresh(luigi.WrapperTask):
    """Models rebuilt over all history into shadow tables and swapped in, their dependents after them."""

    models = luigi.ListParameter(description="the models to refresh; their dependents follow")
    redo_after = luigi.Parameter(default="", significant=False, description="the command's start (UTC)")

    def requires(self) -> list[luigi.Task]:
        refreshing = [model.name for model in chosen_models(self.models)]
        return [FullRefresh(model=name, refreshing=refreshing, redo_after=self.redo_after) for name in refreshing]
