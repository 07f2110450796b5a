"""`pipeline status`: per region and table, the last loaded window, lag behind now, documents changed in the
last day and the last error; per model, its definition's fingerprint, the windows an older one built and
its last full refresh; and the staleness check behind `--alert-after`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipeline.catalog import Catalog, catalog
from pipeline.sqlfiles import read_sql, render, statements
from pipeline.warehouse import Warehouse

_DURATION = re.compile(r"^(?P<number>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class TableStatus:
    region: str
    collection: str
    last_window_end: dt.datetime | None
    lag: dt.timedelta | None  # None: never loaded
    changed_last_day: int  # distinct documents whose latest version is from the last 24 h
    last_error: str | None
    last_error_at: dt.datetime | None


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `1d`, `90s`."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration (expected a number and s, m, h or d, e.g. 30m)")
    return dt.timedelta(**{_UNITS[match["unit"]]: int(match["number"])})


def table_statuses(rows: list[dict], changed: dict[tuple[str, str], int], regions: list[str],
                   now: dt.datetime) -> list[TableStatus]:
    """Every configured region x declared source, loaded or not, from the status query's rows (ops/status.sql,
    by column name) and the documents changed per (region, collection)."""
    found = {(row["region"], row["collection"]): row for row in rows}
    statuses = []
    for region in regions:
        for collection in catalog().sources:
            row = found.get((region, collection), {})
            last_end = row.get("last_window_end")
            statuses.append(TableStatus(region, collection, last_end, now - last_end if last_end else None,
                                        changed.get((region, collection), 0), row.get("last_error"),
                                        row.get("last_error_at")))
    return statuses


def changed_documents(connection: Warehouse, now: dt.datetime) -> dict[tuple[str, str], int]:
    """Per (region, collection): documents whose latest version is from the day before `now`."""
    changed = {}
    for source in catalog().sources.values():
        (statement,) = statements(render(read_sql("ops/changed_documents.sql"), table=source.table,
                                         cursor=source.cursor))
        for region, count in connection.query(statement, {"day_ago": now - dt.timedelta(days=1), "now": now}):
            changed[(region, source.name)] = int(count)
    return changed


def stale(statuses: list[TableStatus], threshold: dt.timedelta) -> list[TableStatus]:
    return [s for s in statuses if s.lag is None or s.lag > threshold]


@dataclass(frozen=True)
class StaleAlert:
    tables: int
    subject: str
    text: str


def stale_alert(statuses: list[TableStatus], threshold: dt.timedelta) -> StaleAlert | None:
    """The alert for the tables behind by more than `threshold`; None when none is."""
    late = stale(statuses, threshold)
    if not late:
        return None
    subject = f"analytics-pipeline: {len(late)} table(s) stale for more than {format_lag(threshold)}"
    return StaleAlert(len(late), subject, subject + "\n" + "\n".join(
        f"- {s.region}.{s.collection}: {format_lag(s.lag)} behind" for s in late))


def format_lag(lag: dt.timedelta | None) -> str:
    if lag is None:
        return "never loaded"
    minutes = int(lag.total_seconds() // 60)
    return f"{minutes // 1440}d {minutes % 1440 // 60}h {minutes % 60}m" if minutes >= 1440 else \
        f"{minutes // 60}h {minutes % 60}m"


def format_status(statuses: list[TableStatus]) -> str:
    lines = [f"{'region':<8} {'table':<14} {'last window end':<17} {'lag':>12} {'changed (24h)':>13}  last error"]
    for s in statuses:
        end = f"{s.last_window_end:%Y-%m-%d %H:%M}" if s.last_window_end else "-"
        error = f"{s.last_error_at:%Y-%m-%d %H:%M} {s.last_error}" if s.last_error else "-"
        lines.append(f"{s.region:<8} {s.collection:<14} {end:<17} {format_lag(s.lag):>12} {s.changed_last_day:>13}  "
                     f"{error[:100]}")
    return "\n".join(lines)


@dataclass(frozen=True)
class ModelStatus:
    model: str
    fingerprint: str
    stale_windows: int  # transformed windows not built by the definition of now
    stale_from: dt.datetime | None
    stale_until: dt.datetime | None
    refreshed_at: dt.datetime | None  # the last full refresh


def model_statuses(connection: Warehouse, project: Catalog) -> list[ModelStatus]:
    statuses = []
    for model in project.models.values():
        (stale,) = connection.records("transform/model_staleness.sql", {
            "model": model.name, "fingerprint": model.fingerprint})
        refresh = connection.records("transform/last_refresh.sql", {"model": model.name})
        statuses.append(ModelStatus(model.name, model.fingerprint, int(stale["stale_windows"]), stale["stale_since"],
                                    stale["stale_until"], refresh[0]["refreshed_at"] if refresh else None))
    return statuses


def format_models(statuses: list[ModelStatus]) -> str:
    lines = [f"{'model':<28} {'definition':<12}  {'built':<48}  last full refresh"]
    for s in statuses:
        built = (f"stale: {s.stale_windows} window(s), {s.stale_from:%Y-%m-%d %H:%M} .. {s.stale_until:%Y-%m-%d %H:%M}"
                 if s.stale_windows else "current")
        refreshed = f"{s.refreshed_at:%Y-%m-%d %H:%M}" if s.refreshed_at else "never"
        lines.append(f"{s.model:<28} {s.fingerprint:<12}  {built:<48}  {refreshed}")
    stale = [s for s in statuses if s.stale_windows]
    if stale:
        first = min(s.stale_from for s in stale if s.stale_from)
        last = max(s.stale_until for s in stale if s.stale_until)
        lines.append(f"rebuild the stale windows from the raw tables: pipeline transform --start "
                     f"'{first:%Y-%m-%d %H:%M}' --end '{last:%Y-%m-%d %H:%M}'")
    return "\n".join(lines)
