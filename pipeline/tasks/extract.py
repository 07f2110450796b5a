"""ExtractWindow: one region's collection over one window, to part files and a manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import luigi

from pipeline import paths
from pipeline.config import ExtractSettings, source_uris
from pipeline.extract import extract_window, manifest_is_current, read_manifest
from pipeline.retry import retries_transient
from pipeline.sources import source_collection, window_documents
from pipeline.storage import ObjectStore
from pipeline.tasks.common import SourceWindowTask

PROGRESS_EVERY = 5000  # documents between two progress reports to luigid


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
        settings = ExtractSettings()
        documents = self._tracked(window_documents(
            source_collection(source_uris()[self.region], self.source.name), self.source, self.window,
            settings.batch_size, slice_minutes=settings.query_slice_minutes))
        manifest = extract_window(
            documents, self.source, self.region, self.window, ObjectStore.from_config(),
            part_rows=settings.part_rows, part_bytes=settings.part_mb * 2**20,
            compress_level=settings.compress_level, progress=self._progress,
        )
        self.progress_rows = manifest["extracted"]
        self.set_status_message(f"{manifest['written']} rows in {len(manifest['parts'])} parts, "
                                f"{manifest['quarantined']} quarantined")
        self.set_progress_percentage(100)

    def _tracked(self, documents: Iterable[dict]) -> Iterator[dict]:
        """The documents, while luigid is told how far into the window the read is (by their cursor)."""
        span, furthest = (self.window.end - self.window.start).total_seconds(), 0
        for count, document in enumerate(documents, start=1):
            if count % PROGRESS_EVERY == 0 and isinstance(document.get(self.source.cursor), dt.datetime):
                done = int((document[self.source.cursor] - self.window.start).total_seconds() * 100 / span)
                if done > furthest:
                    furthest = min(done, 99)
                    self.set_progress_percentage(furthest)
                    self.set_status_message(f"{count} documents read")
            yield document

    def _progress(self, rows: int, part: str) -> None:
        self.set_status_message(f"{rows} rows so far; wrote {part}")
