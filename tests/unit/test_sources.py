"""Window slicing and the prefetching iterator behind the extract's MongoDB reads."""

import datetime as dt
import threading

import pytest

from pipeline.sources import prefetched, window_slices
from pipeline.windows import Window

D = dt.datetime


def test_slices_cover_the_window_exactly():
    window = Window(D(2026, 11, 20), D(2026, 11, 21))
    slices = window_slices(window, 60)
    assert len(slices) == 24 and slices[0].start == window.start and slices[-1].end == window.end
    assert all(a.end == b.start for a, b in zip(slices, slices[1:]))
    assert window_slices(Window(D(2026, 11, 20), D(2026, 11, 20, 0, 15)), 60) == [
        Window(D(2026, 11, 20), D(2026, 11, 20, 0, 15))]


def test_prefetched_yields_everything_in_order_from_another_thread():
    seen_threads = set()

    def items():
        for i in range(100):
            seen_threads.add(threading.current_thread().name)
            yield i

    assert list(prefetched(items(), depth=2)) == list(range(100))
    assert seen_threads == {"mongo-prefetch"}


def test_prefetched_raises_the_producers_error_in_the_consumer():
    def items():
        yield 1
        raise ConnectionError("server went away")

    iterator = prefetched(items(), depth=2)
    assert next(iterator) == 1
    with pytest.raises(ConnectionError, match="server went away"):
        next(iterator)


def test_a_consumer_that_stops_early_releases_the_producer():
    produced = []

    def items():
        for i in range(10_000):
            produced.append(i)
            yield i

    iterator = prefetched(items(), depth=2)
    assert next(iterator) == 0
    iterator.close()  # the thread sees the stop flag and ends instead of blocking on a full queue
    assert len(produced) < 10
    assert not any(t.name == "mongo-prefetch" and t.is_alive() for t in threading.enumerate())
