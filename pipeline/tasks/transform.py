"""TransformWindow: rebuild the analytics rows one (region, window) touched, in every model."""

from __future__ import annotations

import luigi

from pipeline.catalog import catalog
from pipeline.retry import retries_transient
from pipeline.tasks.common import WarehouseMarker, WindowTask, window_bounds
from pipeline.tasks.load import LoadWindow
from pipeline.transform import transform_window
from pipeline.warehouse import connection
from pipeline.windows import utcnow


class TransformWindow(WindowTask):
    """Outputs an analytics.transform_audit row for (region, window), committed with the models."""

    def requires(self) -> list[luigi.Task]:
        return [LoadWindow(collection=name, **self.window_params()) for name in catalog().sources]

    def output(self) -> luigi.Target:
        return WarehouseMarker("load/transform_done.sql", {"region": self.region, **window_bounds(self.window),
                                                           "declared": catalog().signature,
                                                           "done_after": self.done_after})

    @retries_transient
    def run(self) -> None:
        keys = transform_window(connection(), catalog(), self.region, self.window, utcnow(), self._progress)
        self.progress_rows = keys
        self.set_status_message(f"{keys} keys rebuilt over {len(catalog().models)} models")
        self.set_progress_percentage(100)

    def _progress(self, model: str, done: int, models: int) -> None:
        self.set_status_message(f"rebuilt analytics.{model} ({done} of {models} models)")
        self.set_progress_percentage(int(done * 100 / models))
