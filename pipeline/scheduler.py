"""The central Luigi scheduler: `pipeline scheduler` runs luigid with task history and persisted state."""

from __future__ import annotations

import configparser
import io
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import luigi.configuration
import luigi.interface
from luigi.cmdline import luigid

from pipeline.config import ConfigError

HISTORY_ENV = "PIPELINE_TASK_HISTORY_URL"  # SQLAlchemy URL; may hold a password, so environment only


SCHEDULER_ENV = "PIPELINE_SCHEDULER_URL"


def scheduler_url(given: str = "") -> str:
    """`--scheduler-url`, else PIPELINE_SCHEDULER_URL, else Luigi's own settings as `luigi` reads them: [core]
    scheduler_url, else scheduler_host and scheduler_port (or their older dashed names; localhost:8082)."""
    url = given or os.environ.get(SCHEDULER_ENV, "")
    if url:
        return url.rstrip("/")
    settings = luigi.interface.core()
    if settings.scheduler_url:
        return settings.scheduler_url.rstrip("/")
    return f"http://{settings.scheduler_host}:{settings.scheduler_port}"


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


def re_enable_task(url: str, task_id: str, timeout: float = 10.0) -> None:
    """Enable a disabled task again (what the luigid page's button does)."""
    query = urllib.parse.quote(json.dumps({"task_id": task_id}))
    with urllib.request.urlopen(f"{url}/api/re_enable_task?data={query}", timeout=timeout) as response:
        response.read()


# The documented policy: a failed task may run again after 5 minutes; three failures within an hour disable
# it for 15 minutes (Luigi's default is a day), and scheduled runs that need it fail and alert meanwhile; a
# `pipeline backfill` over it enables it at once. A worker that stops answering (killed) frees its tasks
# after a minute, noticed when another worker asks for work (not only at luigid's pruning every minute).
# The operator's own config file may change these; state and history follow the command line and
# environment.
POLICY = {"scheduler": {"retry_delay": "300", "retry_count": "3", "disable_window": "3600", "disable_persist": "900",
                        "worker_disconnect_delay": "60", "prune_on_get_work": "true", "remove_delay": "86400"},
          # Shared by every worker process and pod on this luigid: warehouse writers at once (the ETL queue's
          # slots), MongoDB scans at once per region (mongo_<region>; 1 unless the operator's file says more).
          "resources": {"warehouse_writers": "3"}}


def luigid_config(state_dir: Path, history_url: str, operator_file: str = "") -> str:
    """One config file for luigid (Luigi reads a single LUIGI_CONFIG_PATH): the policy, then the operator's
    LUIGI_CONFIG_PATH file over it, then the state path and task history of this command. (Luigi reads
    ./luigi.cfg and /etc/luigi/luigi.cfg before this file: their [scheduler] settings yield to the policy.)"""
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(POLICY)
    if operator_file:
        if not os.path.isfile(operator_file):
            raise ConfigError("LUIGI_CONFIG_PATH", f"{operator_file} does not exist", "the path of one config file")
        config.read(operator_file)
    config.read_dict({"scheduler": {"record_task_history": "true", "state_path": str(state_dir / "state.pickle")},
                      "task_history": {"db_connection": history_url}})
    text = io.StringIO()
    config.write(text)
    return text.getvalue()


def run_luigid(state_dir: str, *, host: str, port: int) -> None:
    """Run luigid in the foreground with its state and (by default) a SQLite task history in state_dir."""
    folder = Path(state_dir).resolve()
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    history_url = os.environ.get(HISTORY_ENV) or f"sqlite:///{folder / 'history.sqlite'}"
    config_file = folder / "luigid.cfg"
    config_file.write_text(luigid_config(folder, history_url, os.environ.get("LUIGI_CONFIG_PATH", "")))
    config_file.chmod(0o600)  # it may hold the history database's password
    os.environ["LUIGI_CONFIG_PATH"] = str(config_file)
    luigi.configuration.add_config_path(str(config_file))  # read last: it holds the operator's file too
    print(f"luigid on http://{host}:{port} (state and history in {folder}); point commands at it with "
          f"--scheduler-url http://{shown_host(host)}:{port} or {SCHEDULER_ENV}=http://{shown_host(host)}:{port}",
          flush=True)
    # luigid runs in this process (so SIGTERM reaches it, and its log records are redacted as ours are), and
    # logs to logs/luigi-server.log; Tornado's access lines (one per API call of every worker, megabytes an
    # hour) only when they are warnings.
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    luigid(["--address", host, "--port", str(port), "--logdir", str(folder / "logs")])


def shown_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host
