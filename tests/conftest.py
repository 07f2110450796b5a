"""Session-wide real services (SecantusDB per region, PostgreSQL, moto S3) and a fresh namespace per test."""

from __future__ import annotations

import io
import itertools
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from pipeline.local.services import LocalStack, local_stack
from pipeline.sqlfiles import SQL_DIR_ENV, sql_dir

REGIONS = ("us", "eu")
BUCKET = "lake"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> LocalStack:
    with local_stack(tmp_path_factory.mktemp("services"), regions=REGIONS, s3_bucket=BUCKET) as running:
        yield running


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class PipelineEnv:
    """One test's own MongoDB databases, warehouse database and object-store prefix."""

    mongo_uris: dict[str, str]
    warehouse_url: str
    storage_url: str

    def warehouse(self) -> psycopg.Connection:
        return psycopg.connect(self.warehouse_url, autocommit=True)


def make_env(stack: LocalStack, monkeypatch, state_dir, storage_url: str | None = None) -> PipelineEnv:
    """Fresh databases for this test (the console's in `state_dir`); parts under `storage_url`, or a fresh
    prefix of the S3 bucket."""
    n = next(_counter)
    database = f"test_{n}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as admin:
        admin.execute(f'create database "{database}"')
    mongo_uris = {region: _with_database(uri, f"ada_{region}_{n}") for region, uri in stack.mongo_uris.items()}
    env = dict(stack.env())
    env["PIPELINE_SOURCES"] = ",".join(f"{region}={uri}" for region, uri in mongo_uris.items())
    env["PIPELINE_WAREHOUSE_URL"] = _with_database(stack.postgres_url, database)
    env["PIPELINE_STORAGE_URL"] = storage_url or f"s3://{BUCKET}/test-{n}"
    env["PIPELINE_CONSOLE_DB_URL"] = f"sqlite:///{state_dir}/console.db"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PipelineEnv(mongo_uris, env["PIPELINE_WAREHOUSE_URL"], env["PIPELINE_STORAGE_URL"])


@pytest.fixture
def s3_env(stack, monkeypatch, tmp_path) -> PipelineEnv:
    """Parts in S3 (moto server)."""
    return make_env(stack, monkeypatch, tmp_path)


@pytest.fixture
def local_env(stack, monkeypatch, tmp_path) -> PipelineEnv:
    """Parts in a local directory."""
    return make_env(stack, monkeypatch, tmp_path, str(tmp_path / "lake"))


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A scratch copy of the project's SQL folder, which the pipeline then reads (PIPELINE_SQL_DIR)."""
    root = tmp_path / "sql"
    shutil.copytree(sql_dir(), root)
    monkeypatch.setenv(SQL_DIR_ENV, str(root))
    return root


@pytest.fixture(scope="session")
def smtp_server():
    from pipeline.local.services import start_smtp

    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture
def slack():
    """A local Slack stand-in (incoming webhooks and chat.postMessage) capturing what it receives."""
    from tests.integration.slack_capture import SlackCapture

    capture = SlackCapture()
    yield capture
    capture.stop()


@pytest.fixture
def luigi_settings():
    """Set luigi.cfg values for one test; the previous values come back afterwards."""
    import luigi.configuration

    config = luigi.configuration.get_config()
    saved = []

    def set_option(section: str, option: str, value: str) -> None:
        previous = config.get(section, option, None) if config.has_section(section) else None
        saved.append((section, option, previous))
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, option, value)

    yield set_option
    for section, option, previous in reversed(saved):
        if previous is None:
            config.remove_option(section, option)
        else:
            config.set(section, option, previous)


# The services a test run may start. A run that leaves one behind fails, naming it.
SERVICE_PROCESS = re.compile(
    r"luigid|pipeline\.cli (scheduler|services|console)|secantusd|moto_server|postgres -D|aiosmtpd")
BASETEMP = pytest.StashKey[str]()


@pytest.fixture(scope="session", autouse=True)
def _session_folder(request, tmp_path_factory) -> None:
    """Where this run's services keep their data: how its processes are told from another run's."""
    request.config.stash[BASETEMP] = str(tmp_path_factory.getbasetemp())


def service_processes(started_by: str) -> dict[int, str]:
    """Service processes of this run: descendants of this process, or working under its temp folder (a
    daemonized PostgreSQL's parent is init)."""
    import os

    import psutil

    found = {}
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if not SERVICE_PROCESS.search(command):
            continue
        try:
            ours = os.getpid() in {parent.pid for parent in process.parents()}
        except psutil.Error:
            ours = False
        if ours or (started_by and started_by in command):
            found[process.info["pid"]] = command
    return found


# Floors of their own for the parts operators rely on, beside the whole package's (--cov-fail-under, setup.cfg).
COVERAGE_FLOORS = {"pipeline/warehouse/redshift/": 90.0}  # the Redshift driver, run through tests/redshift_adapter.py


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session):
    """After pytest-cov has combined its data (its own wrapper is inside this one): each floor, printed, and the
    run failed when a part is under its floor."""
    result = yield
    plugin = session.config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or controller.cov is None or session.config.option.collectonly:
        return result
    reporter = session.config.pluginmanager.getplugin("terminalreporter")
    reporter.line("")
    for part, floor in COVERAGE_FLOORS.items():
        try:
            percent = controller.cov.report(include=[f"*/{part}*"], file=io.StringIO())
        except Exception as error:  # nothing of it measured: the run did not exercise it at all
            percent, note = 0.0, f" ({error})"
        else:
            note = ""
        below = percent < floor
        reporter.write_line(f"coverage of {part}: {percent:.1f}% (floor {floor:.0f}%){note}", red=below, bold=below)
        if below:
            session.testsfailed += 1
    return result


def pytest_sessionfinish(session, exitstatus) -> None:
    """No process the suite started outlives it (session fixtures have been torn down by now)."""
    started_by = session.config.stash.get(BASETEMP, "")
    deadline = time.monotonic() + 10
    while (left := service_processes(started_by)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        lines = "\n".join(f"  pid {pid}: {command[:160]}" for pid, command in sorted(left.items()))
        print(f"\nservices the test run started are still running:\n{lines}")
        session.exitstatus = 1
