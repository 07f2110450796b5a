"""Live progress of a run: each finished task appends a line to the run's progress file (Luigi runs tasks in
worker processes); the command's own process reads it and shows windows done / total per stage, rows,
throughput, ETA and failures so far. A terminal gets a live display (rich); anything else (cron, CI) a plain
line every `interval` seconds; `--quiet` neither."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
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

    def line(self, now: float | None = None, width: int | None = None) -> str:
        """One line; within `width` characters when given (a terminal's): shorter words first, then the
        least needed parts left out, so that it never wraps."""
        elapsed = max((now or time.time()) - self.started, 1e-6)
        stages = [(stage, f"{self.done[stage]}/{self.totals[stage]}" if self.totals[stage] else f"{self.done[stage]}")
                  for stage in dict.fromkeys([*self.totals, *self.done])]
        finished, total = sum(self.done.values()), sum(self.totals.values())
        eta = f"{(total - finished) * elapsed / finished:.0f} s" if 0 < finished < total else "-"
        # Documents read from the sources (each is then loaded and transformed); for exports, rows rendered.
        what, count = ("documents", self.rows["extract"]) if self.totals["extract"] else ("rows", self.rows["render"])
        full = (f"progress: {', '.join(f'{stage} {done}' for stage, done in stages) or 'nothing to run'}; "
                f"{count:,} {what}, {count / elapsed:,.0f} {what}/s; {self.failed} failed; {elapsed:.0f} s elapsed, "
                f"ETA {eta}")
        if width is None or len(full) <= width:
            return full
        short = {"documents": "docs"}.get(what, what)
        return fitted([" ".join(f"{stage} {done}" for stage, done in stages) or "nothing to run",
                       f"{compact(count)} {short}", f"ETA {eta}", f"{self.failed} failed",
                       f"{compact(count / elapsed)}/s", f"{elapsed:.0f} s"], width)


def fitted(parts: list[str], width: int | None) -> str:
    """The parts joined by ` · `, the last ones left out until the line fits `width` (cut with … if even the
    first does not); all of them without a width."""
    parts = [part for part in parts if part]
    while width is not None and len(parts) > 1 and len(" · ".join(parts)) > width:
        parts.pop()
    line = " · ".join(parts)
    return line if width is None or len(line) <= width else line[: max(width - 1, 0)] + "…"


def compact(number: float) -> str:
    """1234567 -> 1.2M, 45300 -> 45k: counts that fit a narrow terminal."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= limit:
            return f"{number / limit:.1f}{suffix}" if number < limit * 10 else f"{number / limit:.0f}{suffix}"
    return f"{number:.0f}"


@contextmanager
def displayed(line_of: Callable[[int | None], str], *, quiet: bool, interval: float = 30.0,
              stream: TextIO | None = None, last_line: bool = True) -> Iterator[None]:
    """Show `line_of(width)` while inside: live on a terminal (one line, never wrapped), else every `interval`
    seconds; the last line once at the end (on a terminal only, unless `last_line`); nothing when `quiet`."""
    stream = stream or sys.stderr
    stop = threading.Event()
    terminal = stream.isatty() and not quiet

    def plain() -> None:
        while not stop.wait(interval):
            print(line_of(None), file=stream, flush=True)

    def live() -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(file=stream)
        with Live(console=console, refresh_per_second=4, transient=True) as display:
            while not stop.wait(0.25):
                display.update(Text(line_of(console.width), no_wrap=True, overflow="ellipsis"))

    thread = None if quiet else threading.Thread(target=live if terminal else plain, daemon=True)
    if thread:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread:
            thread.join()
        if not quiet and (last_line or terminal):
            print(line_of(shutil.get_terminal_size().columns if terminal else None), file=stream, flush=True)


@contextmanager
def shown(totals: Counter[str], failure_log: str, *, quiet: bool, interval: float = 30.0,
          stream: TextIO | None = None) -> Iterator[Progress]:
    """Show the run's progress while inside; the progress file goes in PIPELINE_PROGRESS_LOG for the workers."""
    progress = Progress(totals)
    folder = os.path.dirname(failure_log) if failure_log else None
    path = os.path.join(folder or os.getcwd(), f"progress-{os.getpid()}.jsonl")
    previous = os.environ.get(PROGRESS_LOG_ENV)
    os.environ[PROGRESS_LOG_ENV] = path

    def line_of(width: int | None) -> str:
        progress.read(path, failure_log)
        return progress.line(width=width)

    try:
        with displayed(line_of, quiet=quiet or not sum(totals.values()), interval=interval, stream=stream):
            yield progress
    finally:
        progress.read(path, failure_log)
        if previous is None:
            os.environ.pop(PROGRESS_LOG_ENV, None)
        else:
            os.environ[PROGRESS_LOG_ENV] = previous
        if os.path.exists(path):
            os.remove(path)


@dataclass
class Steps:
    """Progress of a command that works through known steps in its own process (verify's windows, reconcile's
    collections): done / total, what it is on now, elapsed time and ETA."""

    command: str
    total: int
    unit: str
    started: float = field(default_factory=time.time)
    done: int = 0
    doing: str = ""

    def advance(self, doing: str = "") -> None:
        """One step done; `doing` says what the next one is (shown until the next call)."""
        self.done += 1
        self.doing = doing

    def start(self, doing: str) -> None:
        self.doing = doing

    def line(self, now: float | None = None, width: int | None = None) -> str:
        elapsed = max((now or time.time()) - self.started, 1e-6)
        eta = f"{(self.total - self.done) * elapsed / self.done:.0f} s" if 0 < self.done < self.total else "-"
        return fitted([f"{self.command}: {self.done}/{self.total} {self.unit}", f"ETA {eta}", f"{elapsed:.0f} s",
                       self.doing], width)


@contextmanager
def stepped(command: str, total: int, unit: str, *, quiet: bool = False, interval: float = 30.0,
            stream: TextIO | None = None) -> Iterator[Steps]:
    """Show a command's steps while inside (see `displayed`); the command prints its own summary after."""
    steps = Steps(command, total, unit)
    with displayed(lambda width: steps.line(width=width), quiet=quiet, interval=interval, stream=stream,
                   last_line=False):
        yield steps
