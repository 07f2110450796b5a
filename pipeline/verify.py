"""`pipeline verify`: per region, collection and closed window, every source document is loaded with its current
cursor (or quarantined) and nothing else is; every loaded window is transformed with the models of now."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bson.json_util import dumps as bson_dumps

from pipeline.catalog import catalog
from pipeline.config import ExtractSettings, WindowSettings, source_uris
from pipeline.convert import key_cell
from pipeline.paths import manifest_path, undated_path, window_prefix
from pipeline.progress import Steps
from pipeline.reconcile import KEY_VALUES
from pipeline.sources import source_collection, undated_documents, window_documents
from pipeline.sqlfiles import read_sql, render, statements
from pipeline.storage import ObjectStore
from pipeline.warehouse import connection as warehouse_connection
from pipeline.windows import Window, floor_time, utcnow, window_at, windows_between

LISTED = 5  # ids named per kind of difference


@dataclass
class WindowCheck:
    """One (region, collection, closed window): the source's documents against the warehouse's rows, key by
    key with their cursors. A quarantined document accounts for its key."""

    region: str
    collection: str
    window: Window
    source: int = 0
    warehouse: int = 0
    quarantined: int = 0
    extracted: bool = True
    missing: list[str] = field(default_factory=list)  # in the source, not loaded
    stale: list[str] = field(default_factory=list)  # loaded with another cursor than the source's
    extra: list[str] = field(default_factory=list)  # loaded, no longer in this window of the source
    counts: dict[str, int] = field(default_factory=lambda: {"missing": 0, "stale": 0, "extra": 0})
    moved: dict[str, dt.datetime] = field(default_factory=dict)  # of the extra keys: still in MongoDB, cursor now

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def add(self, kind: str, key: str) -> None:
        self.counts[kind] += 1
        listed = getattr(self, kind)
        if len(listed) < LISTED:
            listed.append(key)


def compare(check: WindowCheck, source: Iterable[tuple[str, dt.datetime]], loaded: dict[str, dt.datetime],
            quarantined: set[str]) -> None:
    """Fill the check (pure): the source's (key, cursor) pairs as read, against the window's loaded rows as
    {key: cursor} (the only side held in memory; it is emptied)."""
    check.warehouse += len(loaded)
    for key, cursor in source:
        check.source += 1
        found = loaded.pop(key, None)
        if found == cursor:
            continue
        if key in quarantined:
            check.quarantined += 1
        else:
            check.add("missing" if found is None else "stale", key)
    for key in sorted(loaded):
        check.add("extra", key)


def source_cursors(region: str, collection: str, window: Window) -> Iterator[tuple[str, dt.datetime]]:
    """(key as the warehouse stores it, cursor) of the window's documents, read as the extract reads them (the
    same slices) but only the key and the cursor."""
    declared = catalog().source(collection)
    kind = declared.key_column.type
    settings = ExtractSettings()
    documents = window_documents(source_collection(source_uris()[region], collection), declared, window,
                                 settings.batch_size, {declared.key: 1, declared.cursor: 1},
                                 settings.query_slice_minutes)
    return ((key_cell(kind, document.get(declared.key)), document.get(declared.cursor)) for document in documents)


def warehouse_cursors(collection: str, window: Window, region: str) -> dict[str, dt.datetime]:
    source = catalog().source(collection)
    (statement,) = statements(render(read_sql("verify/window_keys.sql"), table=source.table, key=source.key,
                                     cursor=source.cursor))
    params = {"region": region, "window_start": window.start, "window_end": window.end}
    with warehouse_connection().stream(statement, params, ExtractSettings().batch_size) as (_, batches):
        return {key: cursor for batch in batches for key, cursor in batch}


def quarantined_keys(region: str, collection: str, window: Window) -> set[str]:
    """Keys quarantined by the loads inside this window (any window length: sync's inside a verified day), each
    once however often its window was loaded."""
    params = {"region": region, "collection": collection, "window_start": window.start, "window_end": window.end}
    return {key for (key,) in warehouse_connection().query_file("verify/window_quarantined_keys.sql", params)}


def where_now(region: str, collection: str, keys: list[str]) -> dict[str, dt.datetime]:
    """{key: its cursor now} of the keys MongoDB still has (a document whose cursor left the window)."""
    declared = catalog().source(collection)
    kind = declared.key_column.type
    values = [KEY_VALUES[kind](key) for key in keys]
    found = source_collection(source_uris()[region], collection).find(
        {declared.key: {"$in": values}}, {declared.key: 1, declared.cursor: 1})
    return {key_cell(kind, document[declared.key]): document.get(declared.cursor) for document in found}


def check_window(region: str, collection: str, window: Window, extracted: bool) -> WindowCheck:
    check = WindowCheck(region, collection, window, extracted=extracted)
    compare(check, source_cursors(region, collection, window), warehouse_cursors(collection, window, region),
            quarantined_keys(region, collection, window))
    if check.extra:
        check.moved = where_now(region, collection, check.extra)
    return check


def transform_gaps(region: str, window: Window) -> tuple[list[Window], list[Window]]:
    """(not transformed, transformed with older definitions): the windows loaded over this one whose analytics
    rows no transform marker with the sources of now and builds by every model of now covers."""
    params = {"region": region, "window_start": window.start, "window_end": window.end}
    connection = warehouse_connection()
    loads = sorted({Window(s, e) for s, e in connection.query_file("verify/window_loads.sql", params)},
                   key=lambda w: w.start)
    project = catalog()
    built: dict[Window, set[tuple[str, str]]] = {}
    sources: dict[Window, str] = {}
    for row in connection.records("verify/window_transforms.sql", params):
        window = Window(row["window_start"], row["window_end"])
        sources[window] = row["sources"]
        built.setdefault(window, set()).add((row["model"], row["fingerprint"]))
    wanted = {(model.name, model.fingerprint) for model in project.models.values()}
    current = [w for w, declared in sources.items() if declared == project.signature and wanted <= built[w]]
    unbuilt = [load for load in loads if uncovered(load, current)]
    untransformed = [load for load in unbuilt if uncovered(load, list(sources))]
    return untransformed, [load for load in unbuilt if load not in untransformed]


def uncovered(window: Window, covering: list[Window]) -> list[Window]:
    """The parts of `window` that none of `covering` holds, in order."""
    gaps, at = [], window.start
    for piece in sorted(covering, key=lambda w: w.start):
        if piece.end <= at or piece.start >= window.end:
            continue
        if piece.start > at:
            gaps.append(Window(at, piece.start))
        at = max(at, piece.end)
    if at < window.end:
        gaps.append(Window(at, window.end))
    return gaps


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


def find_undated(store: ObjectStore, region: str, collection: str, now: dt.datetime) -> Undated | None:
    """Write the record of the documents no window reads (key, cursor value, reason) and count them; remove
    an old record when there are none. A cursor later than now plus [windows] future_tolerance_minutes is
    such a value too: its window will not close in time (a clock far off, a typo like 9999)."""
    declared = catalog().source(collection)
    record = undated_path(region, collection)
    count, examples = 0, []
    with store.open_write(record) as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as lines:
        future = now + dt.timedelta(minutes=WindowSettings().future_tolerance_minutes)
        for document in undated_documents(source_collection(source_uris()[region], collection), declared, future):
            count += 1
            key, value = document.get(declared.key), document.get(declared.cursor)
            if len(examples) < 3:
                examples.append(str(key))
            if count <= UNDATED_LISTED:
                reason = (f"{declared.cursor} is missing" if value is None else
                          f"{declared.cursor} {value:%Y-%m-%d %H:%M} is in the future" if isinstance(value, dt.datetime)
                          else f"{declared.cursor} is of type {type(value).__name__}, not a date")
                lines.write((json.dumps({"key": str(key), "cursor": json.loads(bson_dumps({"v": value}))["v"],
                                         "reason": reason}, ensure_ascii=False) + "\n").encode("utf-8"))
    if not count:
        store.target(record).remove()
        return None
    return Undated(region, collection, declared.cursor, count, tuple(examples), store.url(record))


def undated_everywhere(now: dt.datetime) -> list[Undated]:
    store = ObjectStore.from_config()
    found = (find_undated(store, region, collection, now) for region in source_uris()
             for collection in catalog().sources)
    return [undated for undated in found if undated]


def format_undated(found: list[Undated]) -> str:
    return "\n".join(f"{u.region:<8} {u.collection:<14} {u.count} document(s) whose {u.cursor} is no date or in the "
                     f"future, so no window reads them (e.g. {', '.join(u.examples)}); listed in {u.record}"
                     for u in found)


@dataclass(frozen=True)
class TransformCheck:
    """A closed, loaded window of a region whose analytics rows are not all built by the models of now."""

    region: str
    window: Window
    untransformed: list[Window]
    stale: list[Window]


@dataclass
class VerifyReport:
    windows: list[WindowCheck]
    transforms: list[TransformCheck]


def failures(report: VerifyReport, undated: list[Undated]) -> list[str]:
    """What makes a verify fail, a clause each; none when the warehouse equals the source."""
    found = []
    differing = sum(not check.ok for check in report.windows)
    if differing:
        found.append(f"{differing} window(s) do not match the source")
    if report.transforms:
        found.append(f"{len(report.transforms)} loaded window(s) are not transformed with the models of now")
    if undated:
        found.append(f"{sum(u.count for u in undated)} document(s) have no date or a future one in their cursor "
                     f"field: fix them at the source")
    return found


def verify_range(start: dt.datetime, end: dt.datetime, window_minutes: int | None,
                 now: dt.datetime, steps: Steps | None = None) -> VerifyReport:
    """Every closed window of [start, end) (an open one is still filling: it would not reconcile yet); each
    region's window is a step of `steps`."""
    minutes = window_minutes or WindowSettings().backfill_minutes
    horizon = now - dt.timedelta(minutes=WindowSettings().lag_minutes)
    closed = [window for window in windows_between(start, end, minutes) if window.end <= horizon]
    store = ObjectStore.from_config()
    report = VerifyReport([], [])
    regions = list(source_uris())
    if steps is not None:
        steps.total = len(regions) * len(closed)
    for region in regions:
        for window in closed:
            if steps is not None:
                steps.start(f"{region} {window.start:%Y-%m-%d %H:%M}")
            checks = [check_window(region, collection, window,
                                   store.exists(manifest_path(window_prefix(region, collection, window))))
                      for collection in catalog().sources]
            report.windows += checks
            if any(check.warehouse or check.extracted for check in checks):
                untransformed, stale = transform_gaps(region, window)
                if untransformed or stale:
                    report.transforms.append(TransformCheck(region, window, untransformed, stale))
            if steps is not None:
                steps.advance()
    return report


def format_report(report: VerifyReport) -> str:
    header = f"{'region':<8} {'collection':<14} {'window':<36} {'source':>8} {'warehouse':>10} " \
             f"{'quarantined':>12}  status"
    lines = [header]
    for check in report.windows:
        status = ("ok" if not check.quarantined else f"ok, {check.quarantined} quarantined: pipeline quarantine "
                  f"list {_range(check.window)}") if check.ok else "MISMATCH: " + "; ".join(repair_hints(check))
        lines.append(f"{check.region:<8} {check.collection:<14} {str(check.window):<36} {check.source:>8} "
                     f"{check.warehouse:>10} {check.quarantined:>12}  {status}")
    for gap in report.transforms:
        parts = [f"not transformed ({', '.join(map(str, gap.untransformed))})"] if gap.untransformed else []
        parts += [f"transformed with older model definitions ({', '.join(map(str, gap.stale))})"] if gap.stale else []
        repair = "backfill" if gap.untransformed else "transform"  # stale models rebuild from the raw tables
        lines.append(f"{gap.region:<8} {'(models)':<14} {str(gap.window):<36} {'':>8} {'':>10} {'':>12}  "
                     f"MISMATCH: {' and '.join(parts)}: pipeline {repair} {_range(gap.window)}")
    return "\n".join(lines)


def _range(window: Window) -> str:
    return f"--start '{window.start:%Y-%m-%d %H:%M}' --end '{window.end:%Y-%m-%d %H:%M}'"


def _examples(keys: list[str], count: int) -> str:
    return f"{', '.join(keys)}{', ...' if count > len(keys) else ''}"


def repair_hints(check: WindowCheck) -> list[str]:
    """What differs, with the first ids, and the command that repairs each difference."""
    window = _range(check.window)
    if not check.extracted and check.warehouse + check.quarantined == 0:
        return [f"not loaded: pipeline backfill {window}"]
    hints = []
    if check.counts["missing"]:
        hints.append(f"{check.counts['missing']} missing ({_examples(check.missing, check.counts['missing'])}): "
                     f"pipeline backfill --rerun {window}")
    if check.counts["stale"]:
        hints.append(f"{check.counts['stale']} stale, loaded with another {catalog().source(check.collection).cursor} "
                     f"({_examples(check.stale, check.counts['stale'])}): pipeline backfill --rerun {window}")
    if check.counts["extra"]:
        gone = [key for key in check.extra if key not in check.moved]
        minutes = int((check.window.end - check.window.start).total_seconds() // 60)
        moved = sorted({window_at(floor_time(cursor, minutes), minutes) for cursor in check.moved.values()
                        if isinstance(cursor, dt.datetime)}, key=lambda w: w.start)
        if gone or check.counts["extra"] > len(check.extra):
            listed = _examples(check.extra, check.counts["extra"])
            hints.append(f"{check.counts['extra']} no longer in this window of the source ({listed}); deleted ones: "
                         f"pipeline reconcile {window}")
        for target in moved:
            hints.append(f"moved to {target}: pipeline backfill --rerun {_range(target)}" if target.end <= utcnow() else
                         f"moved to {target}, which has not closed (a cursor in the future: fix it at the source)")
    return hints


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
