"""ExtractWindow: one region's collection over one window, to part files and a manifest."""

from __future__ import annotations

import luigi

from pipeline import paths
from pipeline.catalog import CATALOG, collection
from pipeline.config import extract as extract_config
from pipeline.config import source_uris
from pipeline.extract import extract_window
from pipeline.retry import retries_transient
from pipeline.sources import source_collection, window_documents
from pipeline.storage import ObjectStore
from pipeline.tasks.common import WindowTask


class ExtractWindow(WindowTask):
    """Outputs the window's manifest.json (written last) beside its gzip CSV parts in the object store."""

    collection = luigi.ChoiceParameter(choices=list(CATALOG), description="source collection")

    @property
    def priority(self) -> int:
        return collection(self.collection).extract_priority

    @property
    def resources(self) -> dict[str, int]:
        # One scan at a time per region unless [resources] mongo_<region> allows more: it spares the
        # production cluster, and a server that answers queries one by one (SecantusDB) is faster that way.
        return {f"mongo_{self.region}": 1}

    def output(self) -> luigi.Target:
        prefix = paths.window_prefix(self.region, self.collection, self.window)
        return ObjectStore.from_config().target(paths.manifest_path(prefix))

    @retries_transient
    def run(self) -> None:
        settings = extract_config()
        spec = collection(self.collection)
        source = source_collection(source_uris()[self.region], spec.name)
        documents = window_documents(source, spec, self.window, settings.batch_size,
                                     slice_minutes=settings.query_slice_minutes)
        manifest = extract_window(
            documents, spec, self.region, self.window, ObjectStore.from_config(),
            part_rows=settings.part_rows, part_bytes=settings.part_mb * 2**20,
            compress_level=settings.compress_level, progress=self._progress,
        )
        self.set_status_message(f"{manifest['written']} rows in {len(manifest['parts'])} parts, "
                                f"{manifest['quarantined']} quarantined")
        self.set_progress_percentage(100)

    def _progress(self, rows: int, part: str) -> None:
        self.set_status_message(f"{rows} rows so far; wrote {part}")
