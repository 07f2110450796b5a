"""Runs requested in the console (run now for a chosen date, resend) are a queue in the console's database. A
worker, `pipeline console worker` beside the pipeline (with its credentials: the console needs none), claims
them and runs `pipeline export run --unscheduled` or `pipeline export resend` as child processes, so they go
through the same Luigi tasks, claims and delivery records as the scheduled runs. A queued run survives a
console restart; a run whose worker stopped is marked failed with the reason."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass

from pipeline.config import ConsoleSettings
from pipeline.console.accounts import now_text, record
from pipeline.errors import first_line
from pipeline.secrets import redact
from pipeline.statedb import StateConnection, StateDB, StateError

logger = logging.getLogger(__name__)
RUN_TIMEOUT_SECONDS = 3600
OUTPUT_KEPT = 4000  # characters of a run's output kept for admins (the end, where the outcome is)
ACTIONS = ("run", "resend")
WORKER_STOPPED = "the worker running it stopped before it ended (its outcome is unknown): run it again"


class RunRefused(RuntimeError):
    """Too many console runs at once, or the same one already queued; the message says which."""


def request_run(db: StateDB, actor: str, action: str, name: str, date: dt.date, max_runs: int) -> str:
    """Queue a run and its audit line in the caller's write transaction (two clicks at once cannot both see
    room); returns the run id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    (busy,) = db.query_file("runs_in_progress.sql", {"subscription": name, "run_date": f"{date:%Y-%m-%d}",
                                                    "action": action})
    if busy["same"]:
        raise RunRefused(f"a {action} of {name} for {date:%Y-%m-%d} is already queued or running")
    if busy["running"] >= max_runs:
        raise RunRefused(f"{busy['running']} console runs are queued or running ([console] max_runs); start this "
                         f"one when one has ended")
    run_id = uuid.uuid4().hex
    db.run_file("insert_run.sql", {"run_id": run_id, "subscription": name, "run_date": f"{date:%Y-%m-%d}",
                                   "action": action, "requested_by": actor, "now": now_text()})
    record(db, actor, f"export {action} requested", name, None, {"date": f"{date:%Y-%m-%d}", "run_id": run_id})
    return run_id


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    subscription: str
    run_date: str
    action: str


def run_command(run: QueuedRun, local_scheduler: bool) -> list[str]:
    base = [sys.executable, "-m", "pipeline.cli", "export"]
    if run.action == "resend":
        return [*base, "resend", run.subscription, "--date", run.run_date]
    return [*base, "run", "--name", run.subscription, "--date", run.run_date, "--unscheduled", "--quiet",
            *(["--local-scheduler"] if local_scheduler else [])]


def outcome_of(exit_code: int, output: str) -> str:
    """The run's outcome in one line: the command's own closing message (`pipeline: ...`), or `done`."""
    said = [line.removeprefix("pipeline: ").removeprefix("error: ") for line in output.splitlines()
            if line.startswith("pipeline: ") and not line.startswith("pipeline: the full log is")]
    if exit_code == 0:
        return "done"
    return said[-1] if said else f"failed (exit code {exit_code})"


class RunWorker:
    """Claims queued runs, at most `max_runs` at once, and runs each in a child process; tells the database
    it is alive while it holds any, and fails the runs of workers that went silent."""

    def __init__(self, url: str | None = None, *, max_runs: int | None = None, local_scheduler: bool | None = None):
        settings = ConsoleSettings()
        self.url = url
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.max_runs = max_runs or settings.max_runs
        self.local_scheduler = settings.runs_local_scheduler if local_scheduler is None else local_scheduler
        self.silent_seconds = settings.worker_silent_seconds
        self.poll_seconds = settings.worker_poll_seconds
        self._active: dict[str, threading.Thread] = {}

    def step(self) -> list[str]:
        """One round: fail silent workers' runs, report this one alive, claim what fits; the ids claimed."""
        self._active = {run_id: thread for run_id, thread in self._active.items() if thread.is_alive()}
        connection = StateConnection(self.url)
        try:
            now = dt.datetime.now(dt.UTC)
            with connection.transaction() as db:
                db.run_file("heartbeat_runs.sql", {"worker": self.worker_id, "now": now_text(now)})
                abandoned = db.run_file("abandon_runs.sql", {
                    "now": now_text(now), "output": WORKER_STOPPED,
                    "silent_since": now_text(now - dt.timedelta(seconds=self.silent_seconds))})
            if abandoned:
                logger.warning("%d console run(s) of a stopped worker marked failed", abandoned)
            claimed = []
            while len(self._active) < self.max_runs:
                run = self._claim(connection)
                if run is None:
                    break
                claimed.append(run.run_id)
                thread = threading.Thread(target=self._execute, args=(run,), name=f"console-run-{run.run_id}",
                                          daemon=True)
                self._active[run.run_id] = thread
                thread.start()
            return claimed
        finally:
            connection.close()

    def _claim(self, connection: StateConnection) -> QueuedRun | None:
        with connection.transaction() as db:
            rows = db.query_file("next_queued_run.sql")
            if not rows or not db.run_file("claim_run.sql", {"run_id": rows[0]["run_id"], "worker": self.worker_id,
                                                              "now": now_text()}):
                return None
        return QueuedRun(**rows[0])

    def _execute(self, run: QueuedRun) -> None:
        try:
            done = subprocess.run(run_command(run, self.local_scheduler), capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT_SECONDS)
            exit_code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            exit_code, output = -1, f"pipeline: stopped after {RUN_TIMEOUT_SECONDS} s"
        except OSError as error:
            exit_code, output = -1, f"pipeline: could not start: {first_line(error)}"
        output = redact(output)
        connection = StateConnection(self.url)
        try:
            outcome = outcome_of(exit_code, output)
            with connection.transaction() as db:
                db.run_file("finish_run.sql", {"run_id": run.run_id, "exit_code": exit_code, "now": now_text(),
                                               "outcome": outcome, "output": output[-OUTPUT_KEPT:]})
                record(db, "console worker", f"export {run.action} {'done' if exit_code == 0 else 'failed'}",
                       run.subscription, None, {"date": run.run_date, "run_id": run.run_id, "outcome": outcome})
        finally:
            connection.close()

    def wait(self) -> None:
        """Until the runs this worker started have ended."""
        for thread in list(self._active.values()):
            thread.join()

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except StateError as error:  # the database is back at the next round; the runs wait in it
                logger.warning("console runs: %s", first_line(error))
            stop.wait(self.poll_seconds)
