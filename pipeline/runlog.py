"""Logging of one `pipeline` run: a full log file per run, a terminal that shows tracebacks only with -v."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path

from pipeline.config import LogSettings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _WithoutTracebacks(logging.Formatter):
    """One line per record: the traceback stays in the run's log file."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, exc_text = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = exc_info, exc_text


def start_run_log(command: str, verbose: bool) -> Path | None:
    """Send records to the terminal (warnings; everything with -v) and to a new file in [logs] dir (info and
    up, tracebacks included). Returns the file, or None when there is none (no dir, or not writable)."""
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter(FORMAT) if verbose else _WithoutTracebacks(FORMAT))
    root = logging.getLogger()
    for handler in root.handlers:  # an earlier run's in this process (tests, the demo)
        if isinstance(handler, logging.FileHandler):
            handler.close()
    root.handlers = [console]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    settings = LogSettings()
    if not settings.dir.strip():
        return None
    folder = Path(settings.dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{command.replace(' ', '-')}-{os.getpid()}.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        logging.getLogger(__name__).warning("no run log in %s: %s", folder, error)
        return None
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    for old in sorted(folder.glob("*.log"))[: -settings.keep or None]:  # the oldest beyond `keep`
        old.unlink(missing_ok=True)
    return path
