"""Benchmark: writing a report's XLSX file, ours against pandas' `to_excel` on the same rows.

Run it with the virtualenv's python: `python bench/bench_xlsx.py [--rows 100000] [--repeat 2]` (pandas comes
with the `bench` extra). Nothing outside a temporary directory is touched.

What it does, in one run: makes --rows rows of 12 columns shaped like a report (4 texts, 2 timestamps, a date,
3 integers, a boolean, a percent) and writes them, each writer in a child process of its own (so that each
one's peak memory is its own), --repeat times in turn:
  (a) `write_xlsx` (pipeline/exports/render.py): title row, styled header, the columns' number formats, frozen
      panes, autofilter, widths;
  (b) pandas: `DataFrame(rows).to_excel(path, index=False)` with its default engine (openpyxl), no formats.
It prints each writer's best time and peak RSS, and (a)/(b). Both files are read back with openpyxl to check
that they hold the rows. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["Conversation", "Client", "Language", "Device", "Started at", "Ended at", "Day", "Messages",
          "Bot messages", "Chatter messages", "Responded", "Engagement"]
FORMATS = ["text", "text", "text", "text", "datetime", "datetime", "date", "integer", "integer", "integer",
           "boolean", "percent"]


def make_rows(count: int) -> list[tuple]:
    pick = random.Random(7)
    start = dt.datetime(2026, 11, 1)
    rows = []
    for n in range(count):
        began = start + dt.timedelta(seconds=pick.randrange(30 * 86400), microseconds=pick.randrange(10 ** 6))
        messages = pick.randrange(1, 40)
        rows.append((f"{n:024x}", pick.choice(["acme", "globex", "initech"]), pick.choice(["en", "fr", "de", "es"]),
                     pick.choice(["mobile", "desktop", "tablet"]), began, began + dt.timedelta(minutes=messages),
                     began.date(), messages, messages // 2, messages - messages // 2, pick.random() < 0.6,
                     Decimal(pick.randrange(1000)) / 1000))
    return rows


def write_ours(rows: list[tuple], path: str) -> None:
    sys.path.insert(0, str(ROOT))
    from pipeline.exports.render import write_xlsx
    from pipeline.exports.templates import Column

    columns = [Column(f"c{index}", label, number_format) for index, (label, number_format)
               in enumerate(zip(LABELS, FORMATS))]
    batches = [rows[i:i + 10_000] for i in range(0, len(rows), 10_000)]
    write_xlsx(columns, batches, path, sheet_title="Conversations", title="Conversations · 2026-11")


def write_pandas(rows: list[tuple], path: str) -> None:
    import pandas

    pandas.DataFrame(rows, columns=LABELS).to_excel(path, index=False)


def one(writer: str, count: int, path: str) -> None:
    """In a child process: make the rows, write them, print seconds and peak RSS (MB) as JSON."""
    rows = make_rows(count)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    (write_ours if writer == "ours" else write_pandas)(rows, path)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "grew_mb": (peak - before) / 1024}))


def rows_in(path: str) -> int:
    import openpyxl

    return sum(1 for _ in openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", choices=["ours", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.rows, args.path)
        return
    results: dict[str, list[dict]] = {"ours": [], "pandas": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for writer in results:
                path = f"{folder}/{writer}.xlsx"
                done = subprocess.run([sys.executable, __file__, "--one", writer, "--rows", str(args.rows), "--path",
                                       path], capture_output=True, text=True, check=True)
                results[writer].append(json.loads(done.stdout))
        held = {writer: rows_in(f"{folder}/{writer}.xlsx") for writer in results}
    best = {writer: min(runs, key=lambda run: run["seconds"]) for writer, runs in results.items()}
    for writer, run in best.items():
        times = ", ".join(f"{r['seconds']:.2f}" for r in results[writer])
        print(f"({'a' if writer == 'ours' else 'b'}) {writer:<7} {run['seconds']:6.2f} s (runs: {times}); peak RSS "
              f"{run['peak_mb']:.0f} MB (+{run['grew_mb']:.0f} MB while writing); {held[writer]:,} sheet rows")
    print(f"(a) / (b) time: {best['ours']['seconds'] / best['pandas']['seconds']:.2f}; {args.rows:,} rows x "
          f"{len(LABELS)} columns")


if __name__ == "__main__":
    main()
