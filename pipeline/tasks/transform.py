"""TransformWindow: rebuild the analytics rows one (region, window) touched."""

from __future__ import annotations

import luigi

from pipeline.catalog import CATALOG
from pipeline.retry import retries_transient
from pipeline.tasks.common import WarehouseMarker, WindowTask, warehouse_connection, window_bounds
from pipeline.tasks.load import LoadWindow
from pipeline.windows import utcnow


class TransformWindow(WindowTask):
    """Outputs an analytics.transform_audit row for (region, window), committed with the models."""

    def requires(self) -> list[luigi.Task]:
        return [LoadWindow(collection=name, **self.window_params()) for name in CATALOG]

    def output(self) -> luigi.Target:
        return WarehouseMarker("load/transform_done.sql", {"region": self.region, **window_bounds(self.window)})

    @retries_transient
    def run(self) -> None:
        warehouse_connection().transform_window(self.region, self.window.start, self.window.end, utcnow())
