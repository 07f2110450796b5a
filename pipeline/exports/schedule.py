"""Export schedules (daily, weekly on a weekday, monthly on a day) and the data interval each run covers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INTERVALS = ("previous_day", "previous_week", "previous_month")
_DEFAULT_INTERVAL = {"daily": "previous_day", "weekly": "previous_week", "monthly": "previous_month"}
_SCHEDULE = re.compile(r"^(?P<every>daily|weekly|monthly)(?:\s+on\s+(?P<on>[a-z]+|\d{1,2}))?$")
SCHEDULE_FORM = "'daily', 'weekly on <weekday>' or 'monthly on <day 1-28>'"


@dataclass(frozen=True)
class Schedule:
    every: str  # daily | weekly | monthly
    weekday: int | None = None  # 0 = Monday, for weekly
    day: int | None = None  # day of month, for monthly

    def is_due(self, date: dt.date) -> bool:
        if self.every == "weekly":
            return date.weekday() == self.weekday
        if self.every == "monthly":
            return date.day == self.day
        return True

    def next_run_date(self, after: dt.date) -> dt.date:
        """The first date after `after` on which this schedule runs."""
        date = after + dt.timedelta(days=1)
        while not self.is_due(date):
            date += dt.timedelta(days=1)
        return date

    def __str__(self) -> str:
        if self.every == "weekly":
            return f"weekly on {WEEKDAYS[self.weekday or 0]}"
        return f"monthly on {self.day}" if self.every == "monthly" else "daily"

    @property
    def default_interval(self) -> str:
        return _DEFAULT_INTERVAL[self.every]


def parse_schedule(text: str) -> Schedule:
    """Raise ValueError saying the expected form when `text` is not a schedule."""
    match = _SCHEDULE.match(str(text).strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a schedule; expected {SCHEDULE_FORM}")
    every, on = match["every"], match["on"]
    if every == "daily":
        if on:
            raise ValueError(f"{text!r}: a daily schedule takes no 'on'")
        return Schedule("daily")
    if every == "weekly":
        if on not in WEEKDAYS:
            raise ValueError(f"{text!r}: expected 'weekly on' one of {', '.join(WEEKDAYS)}")
        return Schedule("weekly", weekday=WEEKDAYS.index(on))
    if not (on and on.isdigit() and 1 <= int(on) <= 28):
        raise ValueError(f"{text!r}: expected 'monthly on' a day from 1 to 28 (every month has it)")
    return Schedule("monthly", day=int(on))


@dataclass(frozen=True, order=True)
class Interval:
    """The half-open UTC date range [start, end) one export run covers."""

    start: dt.date
    end: dt.date

    @property
    def last(self) -> dt.date:
        """The last day the interval covers (people read periods with both ends included)."""
        return self.end - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        """Names the export's file: one day, or first..last day."""
        last = self.end - dt.timedelta(days=1)
        return f"{self.start:%Y-%m-%d}" if last == self.start else f"{self.start:%Y-%m-%d}_{last:%Y-%m-%d}"

    def __str__(self) -> str:
        last = self.end - dt.timedelta(days=1)
        return f"{self.start:%Y-%m-%d}" if last == self.start else f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"


def interval_for(kind: str, run_date: dt.date) -> Interval:
    """The complete period before `run_date`: the day before, the Monday-to-Sunday week before, or the
    calendar month before."""
    if kind == "previous_day":
        return Interval(run_date - dt.timedelta(days=1), run_date)
    if kind == "previous_week":
        this_monday = run_date - dt.timedelta(days=run_date.weekday())
        return Interval(this_monday - dt.timedelta(days=7), this_monday)
    if kind == "previous_month":
        first = run_date.replace(day=1)
        return Interval((first - dt.timedelta(days=1)).replace(day=1), first)
    raise ValueError(f"unknown interval {kind!r}; expected one of {', '.join(INTERVALS)}")
