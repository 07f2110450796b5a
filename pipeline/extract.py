"""Extract one (region, collection, window): documents -> gzip CSV parts, quarantine file, manifest last."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from pipeline import paths
from pipeline.catalog import Source
from pipeline.convert import ConversionStats, RowConverter, quarantine_line, read_quarantine_line
from pipeline.storage import ObjectStore
from pipeline.windows import Window, utcnow

# 4: the read's start and end (`read_started`, `read_ended`: the merge keeps the version read last); 3: drifted
# values land (coerced or NULL, originals in `_drift`), counted in `drift`; 2: parts carry their sha256. A
# window extracted by an older version is extracted again.
MANIFEST_VERSION = 4
Progress = Callable[[int, str], None]


class _CountingWriter(io.RawIOBase):
    """Counts and hashes the compressed bytes on their way to the store: the load checks both (and
    Redshift's COPY manifest needs each part's size)."""

    def __init__(self, target: IO[bytes]):
        self.target = target
        self.written = 0
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.target.write(data)
        self.written += len(data)
        self.digest.update(data)
        return len(data)


@dataclass
class _Part:
    path: str
    rows: int
    bytes: int
    sha256: str


class PartWriter:
    """Writes rows to gzip CSV part files, starting a new part after `part_rows` rows or `part_bytes`
    compressed bytes, whichever comes first (bounded parts keep uploads and COPY retries small)."""

    def __init__(self, store: ObjectStore, prefix: str, part_rows: int, part_bytes: int, compress_level: int):
        self.store, self.prefix = store, prefix
        self.part_rows, self.part_bytes, self.compress_level = part_rows, part_bytes, compress_level
        self.parts: list[_Part] = []

    def manifest_parts(self) -> list[dict]:
        """The parts written, as a manifest lists them (and the load checks them)."""
        return [{"path": p.path, "rows": p.rows, "bytes": p.bytes, "sha256": p.sha256} for p in self.parts]

    def write_all(self, rows: Iterable[list[str]], progress: Progress | None = None) -> None:
        iterator = iter(rows)
        while True:
            first = next(iterator, None)
            if first is None:
                return
            path = paths.part_path(self.prefix, len(self.parts))
            with self.store.open_write(path) as target:
                counter = _CountingWriter(target)
                with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=self.compress_level, mtime=0) as gz:
                    text = io.TextIOWrapper(gz, encoding="utf-8", newline="", write_through=False)
                    writer = csv.writer(text, lineterminator="\n")
                    writer.writerow(first)
                    count = 1
                    for row in iterator:
                        writer.writerow(row)
                        count += 1
                        if count == self.part_rows or (count % 1000 == 0 and counter.written >= self.part_bytes):
                            break
                    text.flush()
                    text.detach()
            self.parts.append(_Part(path, count, counter.written, counter.digest.hexdigest()))
            if progress:
                progress(sum(p.rows for p in self.parts), path)
            if count < self.part_rows and counter.written < self.part_bytes:
                return


def extract_window(documents: Iterable[dict], source: Source, region: str, window: Window,
                   store: ObjectStore, *, part_rows: int, part_bytes: int, compress_level: int,
                   progress: Progress | None = None) -> dict:
    """Convert and write one window; the manifest, written last, is returned and marks completion."""
    prefix = paths.window_prefix(region, source.name, window)
    stats = ConversionStats()
    converter = RowConverter(source, region, window.start)
    writer = PartWriter(store, prefix, part_rows, part_bytes, compress_level)
    # `documents` queries lazily: every document is read between these two moments.
    read_started = utcnow()
    writer.write_all(converter.rows(documents, stats), progress)
    read_ended = utcnow()

    quarantine = None
    if stats.quarantined:
        quarantine = paths.quarantine_path(prefix)
        lines = "".join(quarantine_line(item) + "\n" for item in stats.quarantined)
        store.write_bytes(quarantine, gzip.compress(lines.encode("utf-8"), mtime=0))

    path = paths.manifest_path(prefix)
    manifest = {
        "version": MANIFEST_VERSION,
        "path": path,
        "region": region,
        "collection": source.name,
        "table": source.table,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "read_started": read_started.isoformat(),
        "read_ended": read_ended.isoformat(),
        "columns": list(source.file_column_names),
        "format": {"type": "csv", "compression": "gzip", "null": "\\N", "header": False},
        "extracted": stats.extracted,
        "written": stats.written,
        "quarantined": len(stats.quarantined),
        "quarantine": quarantine,
        "quarantine_reasons": sorted({item.reason for item in stats.quarantined})[:20],
        "drift": stats.drift_report(),
        "parts": writer.manifest_parts(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    store.write_bytes(path, json.dumps(manifest, indent=1).encode())
    return manifest


def manifest_is_current(manifest: dict, done_after: dt.datetime) -> bool:
    """Written by this extract's format and after `done_after` (naive UTC): parts of an older format are
    re-extracted, so a fix in the conversion rules reaches windows extracted before it."""
    created = dt.datetime.fromisoformat(manifest["created_at"]).astimezone(dt.UTC).replace(tzinfo=None)
    return manifest.get("version") == MANIFEST_VERSION and created >= done_after


def read_quarantine(store: ObjectStore, path: str) -> Iterator[tuple[str, str, dict]]:
    """(key, reason, document with its BSON types) of each document in a window's quarantine file."""
    for line in gzip.decompress(store.read_bytes(path)).decode("utf-8").splitlines():
        if line.strip():
            yield read_quarantine_line(line)


def read_manifest(store: ObjectStore, region: str, collection: str, window: Window) -> dict:
    """The window's manifest (it names its own `path` in the store)."""
    return json.loads(store.read_bytes(paths.manifest_path(paths.window_prefix(region, collection, window))))
