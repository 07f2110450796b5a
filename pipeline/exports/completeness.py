"""Whether the warehouse holds a whole period: every region's transformed windows cover it. An export is not
sent (and then never corrected) while the sync is behind; the data API says so (409) unless asked not to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pipeline.errors import Explained
from pipeline.exports.schedule import Interval
from pipeline.warehouse import Warehouse


class PeriodIncomplete(Explained):
    """The period is not fully transformed in every region; the message says how far each is, and what to do."""

    def __init__(self, message: str, gaps: dict[str, dt.datetime]):
        super().__init__(message)
        self.gaps = gaps


def first_gap(windows: list[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime
              ) -> dt.datetime | None:
    """Where [start, end) stops being covered by the (sorted) windows, or None when it is covered."""
    reached = start
    for window_start, window_end in windows:
        if window_start > reached:
            break
        reached = max(reached, window_end)
    return None if reached >= end else reached


def warehouse_regions(connection: Warehouse) -> list[str]:
    """The regions the warehouse has transformed data of (a process without the sources' settings, the
    console, asks the warehouse)."""
    return [region for (region,) in connection.query_file("transform/transformed_regions.sql")]


def period_gaps(connection: Warehouse, regions: Iterable[str], interval: Interval) -> dict[str, dt.datetime]:
    """Region -> how far its data is complete (the first moment not covered), for the regions short of the
    period's end; empty when the whole period is there."""
    start, end = (dt.datetime.combine(day, dt.time()) for day in (interval.start, interval.end))
    regions = list(regions)
    if not regions:  # nothing transformed anywhere yet
        return {"every region": start}
    gaps = {}
    for region in regions:
        windows = connection.query_file("delivery/transformed_windows.sql", {"region": region, "start": start,
                                                                              "end": end})
        gap = first_gap(windows, start, end)
        if gap is not None:
            gaps[region] = gap
    return gaps


def incomplete(what: str, interval: Interval, gaps: dict[str, dt.datetime], now: dt.datetime) -> PeriodIncomplete:
    """The failure of `what` (an export, a report) over a period not complete yet, in plain words: how far each
    region is, when the period can run, and the command that catches up."""
    reached = ", ".join(f"{region} up to {gap:%Y-%m-%d %H:%M} UTC" for region, gap in sorted(gaps.items()))
    said = f"{what}: the data for {interval} is not complete yet (it is in the warehouse for {reached})"
    period_end = dt.datetime.combine(interval.end, dt.time())
    if period_end > now:
        fix = (f"the period ends on {interval.end - dt.timedelta(days=1)}: run it on {interval.end} or later, once "
               f"the sync has loaded that day")
    else:
        fix = ("the sync has not loaded it yet: it catches up by itself, or run `pipeline sync` (older days: "
               f"`pipeline backfill --start {min(gaps.values()):%Y-%m-%d} --end {interval.end}`), then run this again")
    return PeriodIncomplete(f"{said}; {fix}", gaps)
