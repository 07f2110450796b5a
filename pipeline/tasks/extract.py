"""ExtractWindow: one region's collection over one window, to part files and a manifest."""

from __future__ import annotations

import luigi

from pipeline import paths
from pipeline.config import extract as extract_config
from pipeline.config import source_uris
from pipeline.extract import extract_window, manifest_is_current, read_manifest
from pipeline.retry import retries_transient
from pipeline.sources import source_collection, window_documents
from pipeline.storage import ObjectStore
from pipeline.tasks.common import SourceWindowTask


class ExtractWindow(SourceWindowTask):
    """Outputs the window's manifest.json (written last) beside its gzip CSV parts in the object store."""

    @property
    def priority(self) -> int:
        return self.source.extract_priority

    @property
    def resources(self) -> dict[str, int]:
        # One scan at a time per region unless [resources] mongo_<region> allows more: it spares the
        # production cluster, and a server that answers queries one by one (SecantusDB) is faster that way.
        return {f"mongo_{self.region}": 1}

    def output(self) -> luigi.Target:
        prefix = paths.window_prefix(self.region, self.collection, self.window)
        return ObjectStore.from_config().target(paths.manifest_path(prefix))

    def complete(self) -> bool:
        """The manifest exists, is of the current format, and (on a rerun) was written after it began."""
        if not self.output().exists():
            return False
        manifest = read_manifest(ObjectStore.from_config(), self.region, self.collection, self.window)
        return manifest_is_current(manifest, self.done_after)

    @retries_transient
    def run(self) -> None:
        settings = extract_config()
        documents = window_documents(source_collection(source_uris()[self.region], self.source.name), self.source,
                                     self.window, settings.batch_size, slice_minutes=settings.query_slice_minutes)
        manifest = extract_window(
            documents, self.source, self.region, self.window, ObjectStore.from_config(),
            part_rows=settings.part_rows, part_bytes=settings.part_mb * 2**20,
            compress_level=settings.compress_level, progress=self._progress,
        )
        self.progress_rows = manifest["extracted"]
        self.set_status_message(f"{manifest['written']} rows in {len(manifest['parts'])} parts, "
                                f"{manifest['quarantined']} quarantined")
        self.set_progress_percentage(100)

    def _progress(self, rows: int, part: str) -> None:
        self.set_status_message(f"{rows} rows so far; wrote {part}")
