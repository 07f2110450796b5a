"""The model tasks: TransformWindow (a loaded window into every model), BuildModels (stale models of the
transformed windows of a span, from the raw tables alone) and FullRefresh (one model over all history)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import luigi

from pipeline.catalog import Model, catalog
from pipeline.refresh import full_refresh
from pipeline.retry import retries_transient
from pipeline.tasks.common import PipelineTask, WarehouseMarker, WindowTask, WritesWarehouse, window_bounds
from pipeline.tasks.load import LoadWindow
from pipeline.transform import rebuild_models, stale_in_span, transform_window
from pipeline.warehouse import connection, replacing
from pipeline.warehouse import is_read_only as warehouse_read_only
from pipeline.windows import Window, utcnow


class StaleBuilds(luigi.Target):
    """Exists when every transformed window inside a span was built by these models as defined now (since
    done_after). A span without transformed windows has nothing stale."""

    def __init__(self, region: str, span: Window, models: Sequence[Model], done_after):
        self.region, self.span, self.models, self.done_after = region, span, list(models), done_after

    def stale(self) -> list[Model]:
        params = {"region": self.region, "span_start": self.span.start, "span_end": self.span.end}
        try:
            rows = connection().records("transform/span_builds.sql", params)
        except Exception:
            if warehouse_read_only():  # a --dry-run on a warehouse without the pipeline's tables yet
                return list(self.models)
            raise
        return stale_in_span(self.models, rows, self.done_after)

    def exists(self) -> bool:
        return not self.stale()


class TransformWindow(WindowTask, WritesWarehouse):
    """Outputs an analytics.transform_audit row for (region, window), committed with the models, and its builds
    by every model of now (analytics.model_builds)."""

    def requires(self) -> list[luigi.Task]:
        return [LoadWindow(collection=name, **self.window_params()) for name in catalog().sources]

    def output(self) -> list[luigi.Target]:
        return [self._transformed(), self._built()]

    def _built(self) -> StaleBuilds:
        return StaleBuilds(self.region, self.window, catalog().models.values(), self.done_after)

    def _transformed(self) -> WarehouseMarker:
        return WarehouseMarker("load/transform_done.sql", {"region": self.region, **window_bounds(self.window),
                                                           "declared": catalog().signature,
                                                           "done_after": self.done_after})

    @retries_transient
    def run(self) -> None:
        project = catalog()
        if self._transformed().exists():  # loaded and transformed: only models defined anew since are rebuilt
            models = self._built().stale()
            keys = rebuild_models(connection(), project, self.region, self.window, models, utcnow(), self._progress)
        else:
            models = list(project.models.values())
            keys = transform_window(connection(), project, self.region, self.window, utcnow(), self._progress)
        self.progress_rows = keys
        self.set_status_message(f"{keys} keys rebuilt over {len(models)} models")
        self.set_progress_percentage(100)

    def _progress(self, model: str, done: int, models: int) -> None:
        self.set_status_message(f"rebuilt analytics.{model} ({done} of {models} models)")
        self.set_progress_percentage(int(done * 100 / models))


class BuildModels(WindowTask, WritesWarehouse):
    """Rebuilds the named models (stale ones only) for the transformed windows inside one span (a day, say),
    from the raw tables alone: it requires nothing, so no source, object store or load is touched."""

    models = luigi.ListParameter(description="models to rebuild, dependents included, in dependency order")

    def _models(self) -> list[Model]:
        return [catalog().model(name) for name in self.models]

    def output(self) -> StaleBuilds:
        return StaleBuilds(self.region, self.window, self._models(), self.done_after)

    @retries_transient
    def run(self) -> None:
        project = catalog()
        models = self.output().stale()
        keys = rebuild_models(connection(), project, self.region, self.window, models, utcnow(), self._progress)
        self.progress_rows = keys
        self.set_status_message(f"{keys} keys rebuilt over {len(models)} models")

    def _progress(self, model: str, done: int, models: int) -> None:
        self.set_status_message(f"rebuilt analytics.{model} ({done} of {models} models)")
        self.set_progress_percentage(int(done * 100 / models))


class FullRefresh(PipelineTask, WritesWarehouse):
    """Rebuilds one model over all history into a shadow table and swaps it in (pipeline.refresh); the models of
    the same refresh that it reads are refreshed first."""

    model = luigi.Parameter(description="the model (sql/models/<model>/)")
    refreshing = luigi.ListParameter(default=(), description="every model this refresh rebuilds")
    redo_after = luigi.Parameter(default="", significant=False,
                                 description="done only if refreshed after this UTC moment (the command's start)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Before any connection: the schema check leaves the refreshed tables in their old shape to this task.
        replacing(frozenset(catalog().model(name).table for name in (self.model, *self.refreshing)))

    def requires(self) -> list[luigi.Task]:
        return [FullRefresh(model=name, refreshing=self.refreshing, redo_after=self.redo_after)
                for name in catalog().model(self.model).depends_on_models if name in self.refreshing]

    def complete(self) -> bool:
        model = catalog().model(self.model)
        try:
            rows = connection().records("transform/last_refresh.sql", {"model": model.name})
        except Exception:
            if warehouse_read_only():
                return False
            raise
        return bool(rows) and rows[0]["fingerprint"] == model.fingerprint and (
            not self.redo_after or rows[0]["refreshed_at"] >= dt.datetime.fromisoformat(self.redo_after))

    @retries_transient
    def run(self) -> None:
        self.set_status_message(f"rebuilding analytics.{self.model} into its shadow table")
        done = full_refresh(connection(), catalog(), catalog().model(self.model), utcnow())
        self.progress_rows = done.rows
        self.set_status_message(f"{done.rows} rows swapped into analytics.{self.model} in {done.seconds:.1f} s")
