"""The central Luigi scheduler: `pipeline scheduler` runs luigid with task history and persisted state."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import luigi.configuration

HISTORY_ENV = "PIPELINE_TASK_HISTORY_URL"  # SQLAlchemy URL; may hold a password, so environment only


def scheduler_url() -> str:
    """[core] scheduler_url, else Luigi's own default from [core] default-scheduler-host/port."""
    config = luigi.configuration.get_config()
    url = config.get("core", "scheduler_url", "") or ""
    if url:
        return url.rstrip("/")
    host = config.get("core", "default_scheduler_host", "localhost")
    port = config.getint("core", "default_scheduler_port", 8082)
    return f"http://{host}:{port}"


def scheduler_reachable(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/task_list?data=%7B%7D", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def disabled_task_ids(url: str, timeout: float = 10.0) -> set[str]:
    """The ids of the tasks luigid has disabled (after repeated failures), from its public task_list API."""
    query = urllib.parse.quote(json.dumps({"status": "DISABLED"}))
    with urllib.request.urlopen(f"{url}/api/task_list?data={query}", timeout=timeout) as response:
        return set(json.loads(response.read())["response"])


def luigid_config(state_dir: Path, history_url: str) -> str:
    """The luigid settings this project runs with; appended to the usual config files."""
    return (
        "[scheduler]\n"
        "record_task_history = true\n"
        f"state_path = {state_dir / 'state.pickle'}\n"
        "# A failed task may run again after 5 minutes; three failures within an hour disable it for\n"
        "# disable_persist seconds (a day by default), and runs that need it fail and alert meanwhile.\n"
        "retry_delay = 300\n"
        "retry_count = 3\n"
        "disable_window = 3600\n"
        "remove_delay = 86400\n"
        "\n[task_history]\n"
        f"db_connection = {history_url}\n"
    )


def run_luigid(state_dir: str, *, host: str, port: int) -> None:
    """Run luigid in the foreground with its state and (by default) a SQLite task history in state_dir."""
    folder = Path(state_dir).resolve()
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    history_url = os.environ.get(HISTORY_ENV) or f"sqlite:///{folder / 'history.sqlite'}"
    config_file = folder / "luigid.cfg"
    config_file.write_text(luigid_config(folder, history_url))
    config_file.chmod(0o600)  # it may hold the history database's password
    paths = [p for p in os.environ.get("LUIGI_CONFIG_PATH", "").split(os.pathsep) if p]
    env = {**os.environ, "LUIGI_CONFIG_PATH": os.pathsep.join([*paths, str(config_file)])}
    luigid = Path(sys.executable).parent / "luigid"
    command = [str(luigid if luigid.exists() else shutil.which("luigid") or "luigid"), "--address", host,
               "--port", str(port), "--logdir", str(folder / "logs")]
    print(f"luigid on http://{host}:{port} (state and history in {folder})", flush=True)
    # Become luigid rather than wait for it: a SIGTERM (Ctrl-C, Kubernetes, a test) then reaches it directly
    # instead of leaving an orphaned scheduler behind.
    os.execvpe(command[0], command, env)
