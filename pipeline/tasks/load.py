"""LoadWindow: one extracted window into its raw table, merged by key, newest version wins."""

from __future__ import annotations

import luigi

from pipeline.alerts import announce_drift
from pipeline.extract import read_manifest
from pipeline.load import load_window
from pipeline.retry import retries_transient
from pipeline.storage import ObjectStore
from pipeline.tasks.common import SourceWindowTask, WarehouseMarker, WritesWarehouse, window_bounds
from pipeline.tasks.extract import ExtractWindow
from pipeline.warehouse import connection
from pipeline.windows import utcnow


class LoadWindow(SourceWindowTask, WritesWarehouse):
    """Outputs a raw.load_audit row for (region, collection, window), committed with the merge."""

    def requires(self) -> luigi.Task:
        return ExtractWindow(collection=self.collection, **self.window_params())

    def output(self) -> luigi.Target:
        return WarehouseMarker("load/load_done.sql", {**self._audit_key(), "done_after": self.done_after})

    def _audit_key(self) -> dict:
        return {"region": self.region, "collection": self.collection, **window_bounds(self.window)}

    @retries_transient
    def run(self) -> None:
        store = ObjectStore.from_config()
        manifest = read_manifest(store, self.region, self.collection, self.window)
        audit = {
            **self._audit_key(),
            "extracted": manifest["extracted"],
            "quarantined": manifest["quarantined"],
            "manifest_url": self.input().path,
            "loaded_at": utcnow(),
        }
        self.set_status_message(f"loading {manifest['written']} rows")
        result = load_window(connection(), self.source, manifest, store, audit)
        self.progress_rows = result.staged
        self.set_status_message(f"staged {result.staged}, inserted {result.inserted}, "
                                f"kept {result.kept_newer} newer versions")
        self.set_progress_percentage(100)
        if result.new_drift:
            announce_drift(self.region, self.collection, self.window, result.new_drift, manifest)
