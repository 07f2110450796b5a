import datetime as dt

import pytest

from pipeline.windows import (
    Window,
    check_window_minutes,
    closed_windows,
    floor_time,
    parse_moment,
    window_at,
    windows_between,
)

D = dt.datetime


def test_windows_are_aligned_half_open_and_cover_the_range():
    windows = windows_between(D(2026, 11, 20, 10, 7), D(2026, 11, 20, 11, 0), 15)
    assert [w.start for w in windows] == [D(2026, 11, 20, 10, 0), D(2026, 11, 20, 10, 15),
                                          D(2026, 11, 20, 10, 30), D(2026, 11, 20, 10, 45)]
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))


def test_end_is_exclusive_a_day_range_is_exactly_that_day():
    assert windows_between(D(2026, 11, 20), D(2026, 11, 21), 1440) == [Window(D(2026, 11, 20), D(2026, 11, 21))]


def test_only_closed_windows_older_than_the_lag():
    now = D(2026, 11, 20, 10, 34)
    windows = closed_windows(D(2026, 11, 20, 9, 30), now, 15, lag_minutes=5)
    assert windows[-1].end == D(2026, 11, 20, 10, 15)  # 10:15-10:30 ends 4 min before now: still open
    assert windows[0].start == D(2026, 11, 20, 9, 30)


def test_window_lengths_must_tile_a_day():
    assert check_window_minutes(15) == 15
    assert check_window_minutes(2880) == 2880
    for bad in (0, 7, 1500):
        with pytest.raises(ValueError, match="divide a day"):
            check_window_minutes(bad)


def test_window_at_rejects_unaligned_starts():
    assert window_at(D(2026, 11, 20, 10, 15), 15).end == D(2026, 11, 20, 10, 30)
    with pytest.raises(ValueError, match="boundary"):
        window_at(D(2026, 11, 20, 10, 10), 15)
    assert floor_time(D(2026, 11, 20, 23, 59), 1440) == D(2026, 11, 20)


def test_parse_moment_accepts_dates_and_utc_timestamps():
    assert parse_moment("2026-11-20", "--start") == D(2026, 11, 20)
    assert parse_moment("2026-11-20T10:15Z", "--start") == D(2026, 11, 20, 10, 15)
    assert parse_moment("2026-11-20T11:15+01:00", "--start") == D(2026, 11, 20, 10, 15)
    with pytest.raises(ValueError, match="--end: 'tomorrow'"):
        parse_moment("tomorrow", "--end")


def test_backfill_takes_only_closed_windows():
    from pipeline.tasks.flow import backfill_windows

    windows = backfill_windows(D(2026, 11, 27), D(2026, 11, 29), 1440, now=D(2026, 11, 28, 10, 0))
    assert windows == [Window(D(2026, 11, 27), D(2026, 11, 28))]  # the 28th is not over yet
    quarter_hours = backfill_windows(D(2026, 11, 28, 9), D(2026, 11, 28, 10), 15, now=D(2026, 11, 28, 10, 0, 30))
    assert [w.start.minute for w in quarter_hours] == [0, 15, 30]  # 9:45-10:00 ended 30 s ago, within the lag


def test_a_backlog_old_enough_is_read_in_whole_catch_up_cells_and_the_recent_part_in_sync_windows():
    from pipeline.windows import coalesced

    due = windows_between(D(2026, 11, 23, 0, 30), D(2026, 11, 23, 3, 0), 2)
    read = coalesced(due, 60, before=D(2026, 11, 23, 2, 30))
    assert read[0] == Window(D(2026, 11, 23, 0, 30), D(2026, 11, 23, 0, 32))  # 0:00-1:00 is not all due
    assert Window(D(2026, 11, 23, 1), D(2026, 11, 23, 2)) in read  # a whole hour, settled: one window
    assert read[-1] == Window(D(2026, 11, 23, 2, 58), D(2026, 11, 23, 3))  # 2:00-3:00 ends after `before`
    assert len(read) == 15 + 1 + 30 and sorted(read) == read
    assert sum(window.minutes for window in read) == sum(window.minutes for window in due)  # nothing lost
    gap = [w for w in due if w.start != D(2026, 11, 23, 1, 20)]  # a window done already: its hour stays small
    assert Window(D(2026, 11, 23, 1), D(2026, 11, 23, 2)) not in coalesced(gap, 60, before=D(2026, 11, 23, 2, 30))
    assert coalesced(due, 2, before=D(2026, 11, 24)) == due
