"""What `pipeline verify` finds comparing a window document by document, and the command it names for each."""

import datetime as dt

from pipeline.verify import VerifyReport, WindowCheck, compare, format_report, uncovered
from pipeline.windows import Window

WINDOW = Window(dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 21))
RANGE = "--start '2026-11-20 00:00' --end '2026-11-21 00:00'"
AT = dt.datetime(2026, 11, 20, 10)


def status(source: dict, loaded: dict, quarantined=(), extracted: bool = True, moved=None) -> str:
    check = WindowCheck("us", "messages", WINDOW, extracted=extracted)
    compare(check, source.items(), dict(loaded), set(quarantined))
    check.moved = moved or {}
    return format_report(VerifyReport([check], [])).splitlines()[1]  # under the header


def test_equal_sides_and_quarantined_documents_are_ok():
    assert status({"a": AT, "b": AT}, {"a": AT, "b": AT}).endswith(" ok")
    assert status({"a": AT, "b": AT}, {"a": AT}, quarantined={"b"}).endswith(
        f"ok, 1 quarantined: pipeline quarantine list {RANGE}")


def test_each_difference_is_named_with_its_ids_and_repair():
    assert status({"a": AT}, {}, extracted=False).endswith(f"MISMATCH: not loaded: pipeline backfill {RANGE}")
    assert status({"a": AT, "b": AT}, {"a": AT}).endswith(f"MISMATCH: 1 missing (b): pipeline backfill --rerun {RANGE}")
    # The same count on both sides, one version older: a count would have called this ok.
    later = AT + dt.timedelta(hours=1)
    assert status({"a": AT, "b": later}, {"a": AT, "b": AT}).endswith(
        f"MISMATCH: 1 stale, loaded with another updated_at (b): pipeline backfill --rerun {RANGE}")
    assert status({"a": AT}, {"a": AT, "c": AT}).endswith(
        f"MISMATCH: 1 no longer in this window of the source (c); deleted ones: pipeline reconcile {RANGE}")
    moved_to = dt.datetime(2026, 11, 18, 7)
    assert status({"a": AT}, {"a": AT, "c": AT}, moved={"c": moved_to}).endswith(
        "MISMATCH: moved to [2026-11-18 00:00, 2026-11-19 00:00): pipeline backfill --rerun "
        "--start '2026-11-18 00:00' --end '2026-11-19 00:00'")


def test_ids_are_listed_up_to_five_then_counted():
    source = {f"k{i}": AT for i in range(8)}
    assert status(source, {}).endswith("8 missing (k0, k1, k2, k3, k4, ...): pipeline backfill --rerun " + RANGE)


def test_the_parts_of_a_window_no_marker_covers():
    hour = dt.timedelta(hours=1)
    start = WINDOW.start
    assert uncovered(WINDOW, [WINDOW]) == []
    assert uncovered(WINDOW, [Window(start, start + hour), Window(start + 2 * hour, WINDOW.end)]) == [
        Window(start + hour, start + 2 * hour)]
    assert uncovered(WINDOW, []) == [WINDOW]
