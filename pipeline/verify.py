"""`pipeline verify`: per region, collection and window, source count = warehouse count + quarantined."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.catalog import catalog
from pipeline.config import extract, source_uris, windows
from pipeline.extract import read_manifest
from pipeline.paths import manifest_path, window_prefix
from pipeline.sources import source_collection, window_documents
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


def verify_range(start: dt.datetime, end: dt.datetime, window_minutes: int | None) -> list[WindowCheck]:
    minutes = window_minutes or windows().backfill_minutes
    store = ObjectStore.from_config()
    report = []
    for region in source_uris():
        for collection in catalog().sources:
            for window in windows_between(start, end, minutes):
                extracted = store.exists(manifest_path(window_prefix(region, collection, window)))
                quarantined = (read_manifest(store, region, collection, window)["quarantined"] if extracted
                               else quarantined_within(region, collection, window))
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
        status = "ok" if check.ok else ("MISMATCH" if check.extracted else "MISMATCH, not extracted")
        lines.append(f"{check.region:<8} {check.collection:<14} {str(check.window):<36} {check.source:>8} "
                     f"{check.warehouse:>10} {check.quarantined:>12}  {status}")
    return "\n".join(lines)
