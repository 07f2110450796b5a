"""`pipeline status`: per region and table, the last loaded window, lag behind now, rows in the last day and
the last error; and the staleness check behind `--alert-after`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipeline.catalog import catalog

_DURATION = re.compile(r"^(?P<number>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class TableStatus:
    region: str
    collection: str
    last_window_end: dt.datetime | None
    lag: dt.timedelta | None  # None: never loaded
    rows_last_day: int
    last_error: str | None
    last_error_at: dt.datetime | None


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `1d`, `90s`."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration (expected a number and s, m, h or d, e.g. 30m)")
    return dt.timedelta(**{_UNITS[match["unit"]]: int(match["number"])})


def table_statuses(rows: list[tuple], regions: list[str], now: dt.datetime) -> list[TableStatus]:
    """Every configured region x declared source, loaded or not, from the status query's rows."""
    found = {(row[0], row[1]): row for row in rows}
    statuses = []
    for region in regions:
        for collection in catalog().sources:
            _, _, last_end, rows_last_day, error, error_at = found.get((region, collection),
                                                                      (region, collection, None, 0, None, None))
            statuses.append(TableStatus(region, collection, last_end, now - last_end if last_end else None,
                                        int(rows_last_day or 0), error, error_at))
    return statuses


def stale(statuses: list[TableStatus], threshold: dt.timedelta) -> list[TableStatus]:
    return [s for s in statuses if s.lag is None or s.lag > threshold]


def format_lag(lag: dt.timedelta | None) -> str:
    if lag is None:
        return "never loaded"
    minutes = int(lag.total_seconds() // 60)
    return f"{minutes // 1440}d {minutes % 1440 // 60}h {minutes % 60}m" if minutes >= 1440 else \
        f"{minutes // 60}h {minutes % 60}m"


def format_status(statuses: list[TableStatus]) -> str:
    lines = [f"{'region':<8} {'table':<14} {'last window end':<17} {'lag':>12} {'rows (24h)':>11}  last error"]
    for s in statuses:
        end = f"{s.last_window_end:%Y-%m-%d %H:%M}" if s.last_window_end else "-"
        error = f"{s.last_error_at:%Y-%m-%d %H:%M} {s.last_error}" if s.last_error else "-"
        lines.append(f"{s.region:<8} {s.collection:<14} {end:<17} {format_lag(s.lag):>12} {s.rows_last_day:>11}  "
                     f"{error[:100]}")
    return "\n".join(lines)
