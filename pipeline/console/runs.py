"""Runs started from the console: `pipeline export run --unscheduled` (run now, for a chosen date) and
`pipeline export resend` as child processes, so they go through the same Luigi tasks, claims and delivery
records as the scheduled runs, and a slow report never holds a web worker."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import uuid

from pipeline.config import console, console_db_url
from pipeline.console.accounts import now_text, record
from pipeline.secrets import redact
from pipeline.statedb import state_db

RUN_TIMEOUT_SECONDS = 3600


class RunRefused(RuntimeError):
    """Too many console runs at once, or the same one already running; the message says which."""
OUTPUT_KEPT = 4000  # characters of a run's output kept for its page (the end, where the outcome is)
ACTIONS = ("run", "resend")


def run_command(action: str, name: str, date: dt.date) -> list[str]:
    base = [sys.executable, "-m", "pipeline.cli", "export"]
    if action == "resend":
        return [*base, "resend", name, "--date", f"{date:%Y-%m-%d}"]
    scheduler = ["--local-scheduler"] if console().runs_local_scheduler else []
    return [*base, "run", "--name", name, "--date", f"{date:%Y-%m-%d}", "--unscheduled", "--quiet", *scheduler]


def start_run(actor: str, action: str, name: str, date: dt.date) -> str:
    """Record the run and the audit line, start the command in the background; returns the run id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    run_id = uuid.uuid4().hex
    url = console_db_url()
    with state_db(url) as db:  # a write transaction: two clicks at once cannot both see room
        (busy,) = db.query_file("runs_in_progress.sql", {"subscription": name, "run_date": f"{date:%Y-%m-%d}",
                                                        "action": action})
        if busy["same"]:
            raise RunRefused(f"a {action} of {name} for {date:%Y-%m-%d} is already in progress")
        if busy["running"] >= console().max_runs:
            raise RunRefused(f"{busy['running']} console runs are in progress ([console] max_runs); start this one "
                             f"when one has ended")
        db.run_file("insert_run.sql", {"run_id": run_id, "subscription": name, "run_date": f"{date:%Y-%m-%d}",
                                       "action": action, "requested_by": actor, "now": now_text()})
        record(db, actor, f"export {action}", name, None, {"date": f"{date:%Y-%m-%d}", "run_id": run_id})
    command = run_command(action, name, date)
    threading.Thread(target=_wait, args=(url, run_id, command), name=f"console-run-{run_id}", daemon=True).start()
    return run_id


def _wait(url: str, run_id: str, command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)
        exit_code, output = done.returncode, (done.stdout + done.stderr)
    except subprocess.TimeoutExpired:
        exit_code, output = -1, f"stopped after {RUN_TIMEOUT_SECONDS} s"
    except OSError as error:
        exit_code, output = -1, f"could not start: {error}"
    with state_db(url) as db:
        db.run_file("finish_run.sql", {"run_id": run_id, "exit_code": exit_code, "now": now_text(),
                                       "output": redact(output)[-OUTPUT_KEPT:]})


def abandon_unfinished_runs() -> int:
    """Mark failed the runs a previous console process started and never saw end; returns how many."""
    with state_db() as db:
        return db.run_file("abandon_runs.sql", {"now": now_text(), "output": "the console stopped while this ran "
                                                                             "(its outcome is unknown); run it again"})
