"""`pipeline verify`: per region, collection and window, source count = warehouse count + quarantined."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import dataclass

from bson.json_util import dumps as bson_dumps

from pipeline.catalog import catalog
from pipeline.config import extract, source_uris, windows
from pipeline.paths import manifest_path, undated_path, window_prefix
from pipeline.sources import source_collection, undated_documents, window_documents
from pipeline.sqlfiles import read_sql, render, statements
from pipeline.storage import ObjectStore
from pipeline.warehouse import connection as warehouse_connection
from pipeline.windows import Window, windows_between


@dataclass(frozen=True)
class WindowCheck:
    region: str
    collection: str
    window: Window
    source: int
    warehouse: int
    quarantined: int
    extracted: bool

    @property
    def ok(self) -> bool:
        return self.source == self.warehouse + self.quarantined


def count_source(region: str, collection: str, window: Window) -> int:
    """Counted client-side over an indexed range with only _id returned: SecantusDB counts are not
    to be relied on, and a real cluster does the same work for count_documents."""
    declared = catalog().source(collection)
    source = source_collection(source_uris()[region], collection)
    settings = extract()
    return sum(1 for _ in window_documents(source, declared, window, settings.batch_size, {"_id": 1},
                                           settings.query_slice_minutes))


def count_warehouse(collection: str, window: Window, region: str) -> int:
    source = catalog().source(collection)
    (statement,) = statements(render(read_sql("verify/window_count.sql"), table=source.table, cursor=source.cursor))
    params = {"region": region, "window_start": window.start, "window_end": window.end}
    return int(warehouse_connection().query(statement, params)[0][0])


def quarantined_within(region: str, collection: str, window: Window) -> int:
    """Quarantined documents of the smaller windows (sync's) loaded inside this one."""
    params = {"region": region, "collection": collection, "window_start": window.start, "window_end": window.end}
    return warehouse_connection().count("verify/window_quarantined.sql", params)


@dataclass(frozen=True)
class Undated:
    """Documents of one region and collection whose cursor is no date: counted, examples, and where their
    record is."""

    region: str
    collection: str
    cursor: str
    count: int
    examples: tuple[str, ...]
    record: str


UNDATED_LISTED = 100_000  # lines of the record at most; the count covers every document


def find_undated(store: ObjectStore, region: str, collection: str) -> Undated | None:
    """Write the record of the documents no window reads (key, cursor value, reason) and count them; remove
    an old record when there are none."""
    declared = catalog().source(collection)
    record = undated_path(region, collection)
    count, examples = 0, []
    with store.open_write(record) as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as lines:
        for document in undated_documents(source_collection(source_uris()[region], collection), declared):
            count += 1
            key, value = document.get(declared.key), document.get(declared.cursor)
            if len(examples) < 3:
                examples.append(str(key))
            if count <= UNDATED_LISTED:
                reason = f"{declared.cursor} is missing" if value is None else \
                    f"{declared.cursor} is of type {type(value).__name__}, not a date"
                lines.write((json.dumps({"key": str(key), "cursor": json.loads(bson_dumps({"v": value}))["v"],
                                         "reason": reason}, ensure_ascii=False) + "\n").encode("utf-8"))
    if not count:
        store.target(record).remove()
        return None
    return Undated(region, collection, declared.cursor, count, tuple(examples), store.url(record))


def undated_everywhere() -> list[Undated]:
    store = ObjectStore.from_config()
    found = (find_undated(store, region, collection) for region in source_uris() for collection in catalog().sources)
    return [undated for undated in found if undated]


def format_undated(found: list[Undated]) -> str:
    return "\n".join(f"{u.region:<8} {u.collection:<14} {u.count} document(s) whose {u.cursor} is no date, so no "
                     f"window reads them (e.g. {', '.join(u.examples)}); listed in {u.record}" for u in found)


def verify_range(start: dt.datetime, end: dt.datetime, window_minutes: int | None,
                 now: dt.datetime) -> list[WindowCheck]:
    """Every closed window of [start, end) (an open one is still filling: it would not reconcile yet)."""
    minutes = window_minutes or windows().backfill_minutes
    horizon = now - dt.timedelta(minutes=windows().lag_minutes)
    closed = [window for window in windows_between(start, end, minutes) if window.end <= horizon]
    store = ObjectStore.from_config()
    report = []
    for region in source_uris():
        for collection in catalog().sources:
            for window in closed:
                extracted = store.exists(manifest_path(window_prefix(region, collection, window)))
                # The warehouse's count, not the manifest's: a quarantine replay lowers it.
                quarantined = quarantined_within(region, collection, window)
                report.append(WindowCheck(
                    region, collection, window, count_source(region, collection, window),
                    count_warehouse(collection, window, region), quarantined, extracted,
                ))
    return report


def format_report(report: list[WindowCheck]) -> str:
    header = f"{'region':<8} {'collection':<14} {'window':<36} {'source':>8} {'warehouse':>10} " \
             f"{'quarantined':>12}  status"
    lines = [header]
    for check in report:
        status = ("ok" if not check.quarantined else f"ok, {check.quarantined} quarantined: pipeline quarantine "
                  f"list {_range(check)}") if check.ok else repair_hint(check)
        lines.append(f"{check.region:<8} {check.collection:<14} {str(check.window):<36} {check.source:>8} "
                     f"{check.warehouse:>10} {check.quarantined:>12}  {status}")
    return "\n".join(lines)


def _range(check: WindowCheck) -> str:
    return f"--start '{check.window.start:%Y-%m-%d %H:%M}' --end '{check.window.end:%Y-%m-%d %H:%M}'"


def repair_hint(check: WindowCheck) -> str:
    """What a mismatch most likely means, and the command that repairs it."""
    window = _range(check)
    if not check.extracted and check.warehouse + check.quarantined == 0:
        return f"MISMATCH, not loaded: pipeline backfill {window}"
    if check.source > check.warehouse + check.quarantined:
        return f"MISMATCH, documents missing: pipeline backfill --rerun {window}"
    return f"MISMATCH, documents gone from the source: pipeline reconcile {window}"


def missing_created_at(start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Per source that declares created_at: rows in the range without one (dated by their last update)."""
    found = {}
    for source in catalog().sources.values():
        if "created_at" in source.field_names:
            (statement,) = statements(render(read_sql("verify/missing_created_at.sql"), table=source.table,
                                             cursor=source.cursor))
            count = int(warehouse_connection().query(statement, {"start": start, "end": end})[0][0])
            if count:
                found[source.name] = count
    return found
