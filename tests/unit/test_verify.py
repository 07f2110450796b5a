"""What `pipeline verify` says about a window: ok, or the mismatch and the command that repairs it."""

import datetime as dt

from pipeline.verify import WindowCheck, format_report
from pipeline.windows import Window

WINDOW = Window(dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 21))
RANGE = "--start '2026-11-20 00:00' --end '2026-11-21 00:00'"


def status(source: int, warehouse: int, quarantined: int, extracted: bool = True) -> str:
    check = WindowCheck("us", "messages", WINDOW, source, warehouse, quarantined, extracted)
    return format_report([check]).splitlines()[1]  # under the header


def test_each_mismatch_names_the_command_that_repairs_it():
    assert status(10, 10, 0).endswith(" ok")
    assert status(10, 8, 2).endswith(f"ok, 2 quarantined: pipeline quarantine list {RANGE}")
    assert status(10, 0, 0, extracted=False).endswith(f"MISMATCH, not loaded: pipeline backfill {RANGE}")
    assert status(10, 7, 2).endswith(f"MISMATCH, documents missing: pipeline backfill --rerun {RANGE}")
    assert status(8, 9, 0).endswith(f"MISMATCH, documents gone from the source: pipeline reconcile {RANGE}")
