"""Live progress of a run: each finished task appends a line to the run's progress file (Luigi runs tasks in
worker processes); the command's own process reads it and shows windows done / total per stage, rows,
throughput, ETA and failures so far. A terminal gets a live display (rich); anything else (cron, CI) a plain
line every `interval` seconds; `--quiet` neither."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

PROGRESS_LOG_ENV = "PIPELINE_PROGRESS_LOG"  # set by the command for its run; workers append one line per task
STAGES = {"ExtractWindow": "extract", "LoadWindow": "load", "TransformWindow": "transform",
          "BuildModels": "transform", "FullRefresh": "transform",
          "RenderExport": "render", "DeliverExport": "deliver"}


def record_task(family: str, rows: int) -> None:
    """Called by a task that finished (in its worker process): one JSON line, appended atomically."""
    path = os.environ.get(PROGRESS_LOG_ENV)
    if path and family in STAGES:
        line = json.dumps({"stage": STAGES[family], "rows": rows, "at": time.time()}) + "\n"
        with open(path, "a", encoding="utf-8") as log:
            log.write(line)


@dataclass
class Progress:
    """What the run has done so far, against what its plan said it would do."""

    totals: Counter[str]  # stage -> tasks to run
    started: float = field(default_factory=time.time)
    done: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)  # stage -> rows its finished tasks reported
    failed: int = 0

    def read(self, progress_log: str, failure_log: str) -> None:
        self.done, self.rows = Counter(), Counter()
        if os.path.exists(progress_log):
            with open(progress_log, encoding="utf-8") as lines:
                for line in lines:
                    entry = json.loads(line)
                    self.done[entry["stage"]] += 1
                    self.rows[entry["stage"]] += entry["rows"]
        if failure_log and os.path.exists(failure_log):
            with open(failure_log, encoding="utf-8") as lines:
                self.failed = sum(1 for _ in lines)

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.time()) - self.started, 1e-6)
        stages = ", ".join(f"{stage} {self.done[stage]}/{self.totals[stage]}" if self.totals[stage] else
                           f"{stage} {self.done[stage]}" for stage in dict.fromkeys([*self.totals, *self.done]))
        finished, total = sum(self.done.values()), sum(self.totals.values())
        eta = f"{(total - finished) * elapsed / finished:.0f} s" if 0 < finished < total else "-"
        # Documents read from the sources (each is then loaded and transformed); for exports, rows rendered.
        what, count = ("documents", self.rows["extract"]) if self.totals["extract"] else ("rows", self.rows["render"])
        return (f"progress: {stages or 'nothing to run'}; {count:,} {what}, {count / elapsed:,.0f} {what}/s; "
                f"{self.failed} failed; {elapsed:.0f} s elapsed, ETA {eta}")


@contextmanager
def shown(totals: Counter[str], failure_log: str, *, quiet: bool, interval: float = 30.0,
          stream: TextIO | None = None) -> Iterator[Progress]:
    """Show the run's progress while inside; the progress file goes in PIPELINE_PROGRESS_LOG for the workers."""
    stream = stream or sys.stderr
    progress = Progress(totals)
    folder = os.path.dirname(failure_log) if failure_log else None
    path = os.path.join(folder or os.getcwd(), f"progress-{os.getpid()}.jsonl")
    previous = os.environ.get(PROGRESS_LOG_ENV)
    os.environ[PROGRESS_LOG_ENV] = path
    stop = threading.Event()
    terminal = stream.isatty() and not quiet

    def plain() -> None:
        while not stop.wait(interval):
            progress.read(path, failure_log)
            print(progress.line(), file=stream, flush=True)

    def live() -> None:
        from rich.console import Console
        from rich.live import Live

        with Live(console=Console(file=stream), refresh_per_second=4, transient=True) as display:
            while not stop.wait(0.25):
                progress.read(path, failure_log)
                display.update(progress.line())

    thread = None if quiet else threading.Thread(target=live if terminal else plain, daemon=True)
    if thread:
        thread.start()
    try:
        yield progress
    finally:
        stop.set()
        if thread:
            thread.join()
        progress.read(path, failure_log)
        if not quiet and sum(totals.values()):
            print(progress.line(), file=stream, flush=True)
        if previous is None:
            os.environ.pop(PROGRESS_LOG_ENV, None)
        else:
            os.environ[PROGRESS_LOG_ENV] = previous
        if os.path.exists(path):
            os.remove(path)
