"""The real luigid (`pipeline scheduler`) in a process group of its own, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from pipeline.local.services import free_port


def start_luigid(state: Path, env: Mapping[str, str] | None = None, operator: str = "") -> tuple[subprocess.Popen, str]:
    """Start luigid with its state in `state` (and `operator` as its operator config file, if given); return the
    process and its URL once it answers."""
    port = free_port()
    process_env = {**(env if env is not None else os.environ), **({"LUIGI_CONFIG_PATH": operator} if operator else {})}
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "scheduler", "--state-dir", str(state),
                                "--port", str(port)], env=process_env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/task_list?data=%7B%7D", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    raise RuntimeError("luigid did not start")


def stop_luigid(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # its own session: whatever it started goes too
    process.wait(10)
