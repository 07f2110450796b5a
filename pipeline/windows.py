"""Fixed, half-open UTC time windows [start, end) on a collection's cursor field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAY_MINUTES = 24 * 60


@dataclass(frozen=True, order=True)
class Window:
    start: dt.datetime  # naive UTC
    end: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M})"


def check_window_minutes(minutes: int) -> int:
    """Windows must tile a day (or be whole days) so every run cuts time at the same boundaries."""
    if minutes <= 0 or (DAY_MINUTES % minutes and minutes % DAY_MINUTES):
        raise ValueError(f"window length {minutes} min must divide a day (1440 min) or be whole days")
    return minutes


def floor_time(moment: dt.datetime, minutes: int) -> dt.datetime:
    """The start of the aligned window containing `moment`."""
    check_window_minutes(minutes)
    midnight = dt.datetime(moment.year, moment.month, moment.day)
    if minutes >= DAY_MINUTES:
        days_since_epoch = (midnight - dt.datetime(1970, 1, 1)).days
        return midnight - dt.timedelta(days=days_since_epoch % (minutes // DAY_MINUTES))
    into_day = int((moment - midnight).total_seconds() // 60)
    return midnight + dt.timedelta(minutes=into_day - into_day % minutes)


def window_at(start: dt.datetime, minutes: int) -> Window:
    if floor_time(start, minutes) != start:
        raise ValueError(f"{start:%Y-%m-%d %H:%M} is not on a {minutes}-minute window boundary")
    return Window(start, start + dt.timedelta(minutes=minutes))


def windows_between(start: dt.datetime, end: dt.datetime, minutes: int) -> list[Window]:
    """Aligned windows covering [start, end): the first starts at or before `start`, the last ends at or
    after `end`."""
    step = dt.timedelta(minutes=minutes)
    cursor = floor_time(start, minutes)
    result = []
    while cursor < end:
        result.append(Window(cursor, cursor + step))
        cursor += step
    return result


def rebuild_spans(windows: list[Window], cell_minutes: int) -> list[Window]:
    """The spans that rebuild these windows: the aligned cell of `cell_minutes` (a day) holding each one, so a
    day of 15-minute windows is one rebuild, or the window itself where it is longer than a cell or crosses
    a cell's edge; spans held by another are left out. Oldest first."""
    spans = set()
    for window in windows:
        cell = window_at(floor_time(window.start, cell_minutes), cell_minutes)
        spans.add(cell if window.end <= cell.end else window)
    return sorted(span for span in spans
                  if not any(other != span and other.start <= span.start and span.end <= other.end for other in spans))


def coalesced(windows: list[Window], cell_minutes: int, before: dt.datetime) -> list[Window]:
    """The windows, each aligned cell of `cell_minutes` that they fill completely and that ends by `before`
    replaced by the cell itself: a backlog is read in a few large windows instead of many small ones (a task
    costs the same whatever its window's length). Oldest first."""
    if not windows or cell_minutes <= windows[0].minutes:
        return windows
    cells: dict[dt.datetime, list[Window]] = {}
    for window in windows:
        cells.setdefault(floor_time(window.start, cell_minutes), []).append(window)
    result = []
    for start, inside in cells.items():
        cell = window_at(start, cell_minutes)
        filled = sum(window.minutes for window in inside) == cell_minutes and all(
            cell.start <= window.start and window.end <= cell.end for window in inside)
        result += [cell] if filled and cell.end <= before else inside
    return sorted(result)


def closed_windows(since: dt.datetime, now: dt.datetime, minutes: int, lag_minutes: int) -> list[Window]:
    """Windows from `since` whose end is at least `lag_minutes` before `now`: no late write can still land."""
    horizon = now - dt.timedelta(minutes=lag_minutes)
    return [w for w in windows_between(since, horizon, minutes) if w.end <= horizon]


def parse_moment(text: str, setting: str) -> dt.datetime:
    """A UTC date (`2026-11-20`) or timestamp (`2026-11-20T10:15`, `...Z`, `...+00:00`) as naive UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{setting}: {text!r} is not a date or timestamp (expected 2026-11-20 or "
                         f"2026-11-20T10:15Z)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
