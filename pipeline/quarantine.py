"""`pipeline quarantine`: list the documents that could not be stored, show one, and replay them with today's
source declarations (after a fix to sql/sources, say): those that now convert are merged (newest version
wins) and their windows transformed again; the rest stay, with today's reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import groupby

from bson.json_util import RELAXED_JSON_OPTIONS
from bson.json_util import dumps as bson_dumps

from pipeline import paths
from pipeline.catalog import Catalog
from pipeline.convert import ConversionStats, RowConverter, key_cell
from pipeline.extract import PartWriter, read_manifest, read_quarantine
from pipeline.load import record_drift, stage_and_merge
from pipeline.storage import ObjectStore
from pipeline.transform import transform_window
from pipeline.warehouse import Warehouse
from pipeline.windows import Window


@dataclass(frozen=True)
class QuarantineGroup:
    region: str
    collection: str
    window: Window
    reason: str
    documents: int
    examples: tuple[str, ...]


def list_quarantine(connection: Warehouse, start: dt.datetime, end: dt.datetime) -> list[QuarantineGroup]:
    rows = connection.records("quarantine/list.sql", {"start": start, "end": end})
    return [QuarantineGroup(row["region"], row["collection"], Window(row["window_start"], row["window_end"]),
                            row["reason"], int(row["documents"]),
                            tuple(dict.fromkeys((row["first_example"], row["last_example"]))))
            for row in rows]


def format_quarantine(groups: list[QuarantineGroup]) -> str:
    if not groups:
        return "no quarantined documents in that range"
    lines = [f"{'region':<8} {'collection':<14} {'window':<36} {'documents':>9}  reason (examples)"]
    lines += [f"{g.region:<8} {g.collection:<14} {str(g.window):<36} {g.documents:>9}  {g.reason} "
              f"(e.g. {', '.join(g.examples)})" for g in groups]
    return "\n".join(lines)


def show_document(connection: Warehouse, store: ObjectStore, region: str, collection: str, document_id: str) -> str:
    """The document as it was read (relaxed extended JSON) and why it is quarantined; LookupError if it is not."""
    found = connection.records("quarantine/find.sql", {"region": region, "collection": collection,
                                                       "document_id": document_id})
    if not found:
        raise LookupError(f"no quarantined {collection} document {document_id!r} in region {region!r} "
                          f"(pipeline quarantine list shows what is)")
    window_start, window_end, reason, path = (found[0][name] for name in ("window_start", "window_end", "reason",
                                                                           "quarantine_url"))
    document = next((doc for key, _, doc in read_quarantine(store, path) if key == document_id), None)
    if document is None:
        raise LookupError(f"{store.url(path)} does not hold {document_id!r}: the window was extracted again since; "
                          f"pipeline quarantine list shows the current state")
    text = bson_dumps(document, json_options=RELAXED_JSON_OPTIONS, indent=2, ensure_ascii=False)
    return (f"{region} {collection} {document_id}\nwindow: {Window(window_start, window_end)}\nreason: {reason}\n"
            f"file: {store.url(path)}\n{text}")


@dataclass
class ReplayResult:
    replayed: int = 0  # documents converted again
    loaded: int = 0  # of those, now stored (merged; an older version than the loaded one changes nothing)
    still: int = 0  # still quarantined, with today's reason
    windows: list[tuple[str, Window]] = field(default_factory=list)  # transformed again


def replay_range(connection: Warehouse, store: ObjectStore, project: Catalog, start: dt.datetime,
                 end: dt.datetime, now: dt.datetime) -> ReplayResult:
    result = ReplayResult()
    rows = connection.records("quarantine/in_range.sql", {"start": start, "end": end})
    by_file = ("region", "collection", "window_start", "window_end", "quarantine_url")
    for (region, collection, ws, we, path), documents in groupby(rows, key=lambda r: tuple(r[c] for c in by_file)):
        window = Window(ws, we)
        wanted = {row["document_id"] for row in documents}
        marker = connection.query_file("load/declared_of.sql", {"region": region, "window_start": ws,
                                                                "window_end": we})
        loaded = replay_window(connection, store, project, region, collection, window, path, wanted, now)
        result.replayed += len(wanted)
        result.loaded += loaded
        result.still += len(wanted) - loaded
        if loaded:  # at once: a later group failing must not leave this window untransformed
            # The window keeps what it was transformed with: a source added since is loaded by a backfill.
            transform_window(connection, project, region, window, now,
                             declared=marker[0][0] if marker else "")
            if (region, window) not in result.windows:
                result.windows.append((region, window))
    return result


def replay_window(connection: Warehouse, store: ObjectStore, project: Catalog, region: str, collection: str,
                  window: Window, path: str, wanted: set[str], now: dt.datetime) -> int:
    """Convert one window's quarantined documents again; merge and release those that pass, in one
    transaction. Return how many passed."""
    source = project.source(collection)
    converter = RowConverter(source, region, window.start)
    stats = ConversionStats()
    documents = [doc for key, _, doc in read_quarantine(store, path) if key in wanted]
    rows = list(converter.rows(documents, stats))
    still = {item.document_id: item.reason for item in stats.quarantined}
    key = {"region": region, "collection": collection, "window_start": window.start, "window_end": window.end}
    keys = [key_cell(source.key_column.type, doc.get(source.key)) for doc in documents]
    passed = [key for key in keys if key not in still]
    folder = f"{paths.window_prefix(region, collection, window)}/replay-{now:%Y%m%dT%H%M%S}"
    writer = PartWriter(store, folder, part_rows=len(rows) + 1, part_bytes=2**62, compress_level=6)
    writer.write_all(rows)
    # Relative to the store, like an extract's manifest (Redshift's COPY manifest is written beside it).
    # The documents were read by the window's extract: a version read since then stays.
    extracted = read_manifest(store, region, collection, window)
    replayed = {"path": paths.manifest_path(folder), "region": region, "columns": list(source.file_column_names),
                "written": len(rows), "parts": writer.manifest_parts(),
                **{name: extracted.get(name) for name in ("read_started", "read_ended", "created_at")}}
    with connection.transaction():
        merged = stage_and_merge(connection, source, replayed, store, now)
        for document_id in passed:
            connection.run_file("quarantine/release.sql", {**key, "document_id": document_id})
        for document_id, reason in still.items():
            connection.run_file("quarantine/still.sql", {**key, "document_id": document_id, "reason": reason,
                                                         "replayed_at": now})
        record_drift(connection, key, stats.drift_report(), now)
        if passed:
            connection.run_file("quarantine/replayed.sql", {**key, "inserted": merged.inserted})
    return len(passed)


def format_replay(result: ReplayResult) -> str:
    windows = ", ".join(f"{region} {window}" for region, window in result.windows) or "none"
    return (f"replayed {result.replayed} quarantined document(s): {result.loaded} now loaded, {result.still} still "
            f"quarantined (pipeline quarantine list shows why); windows transformed again: {windows}")
