"""The progress line fits the terminal it is shown on: at 80 columns or less it never wraps."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.progress import Progress, compact


def busy_run() -> Progress:
    progress = Progress(Counter(extract=48, load=48, transform=48), started=1000.0)
    progress.done, progress.rows = Counter(extract=30, load=20, transform=10), Counter(extract=1_234_567)
    return progress


def test_without_a_width_the_line_says_everything():
    line = busy_run().line(now=1033.0)
    assert line == ("progress: extract 30/48, load 20/48, transform 10/48; 1,234,567 documents, 37,411 documents/s;"
                    " 0 failed; 33 s elapsed, ETA 46 s")


@pytest.mark.parametrize("width", [120, 80, 60, 40, 20])
def test_at_a_terminals_width_the_line_fits_keeping_the_stages_first(width):
    line = busy_run().line(now=1033.0, width=width)
    assert len(line) <= width and line.startswith("extract 30/48"[:width - 1])
    if width >= 80:
        assert "1.2M docs" in line and "ETA 46 s" in line


def test_counts_are_compacted_for_narrow_lines():
    assert [compact(n) for n in (999, 45_300, 1_234_567, 25_000_000, 3e9)] == ["999", "45k", "1.2M", "25M", "3.0G"]
