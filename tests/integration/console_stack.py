"""A running `pipeline console` for tests: its own process on loopback, over the test's warehouse (with
client rows), its own SQLite state, the session's SMTP server; and a logged-in HTTP session helper."""

from __future__ import annotations

import configparser
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from pipeline.local.services import LOCAL_SETTINGS, free_port
from tests.integration.test_exports import conversation_rows

PASSWORD = "correct horse battery"


@dataclass
class Console:
    url: str
    process: subprocess.Popen
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipeline.cli", "console", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    def add_user(self, email: str, role: str) -> None:
        result = self.cli("add-user", "--email", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr

    def add_token(self, client: str, name: str = "") -> str:
        result = self.cli("add-token", "--client", client, *(["--name", name] if name else []))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def session(self, email: str | None = None) -> requests.Session:
        """An HTTP session, logged in as `email` when given."""
        session = requests.Session()
        if email:
            response = self.post_form(session, "/login", {"email": email, "password": PASSWORD})
            assert response.status_code == 200 and "Log out" in response.text, response.text[:500]
        return session

    def post_form(self, session: requests.Session, path: str, data: dict, csrf: bool = True) -> requests.Response:
        """Post a form as a browser would: with the session's CSRF token, which every form of a page holds."""
        if csrf:
            page = session.get(self.url + "/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            data = {**data, "csrf_token": token[1] if token else ""}
        return session.post(self.url + path, data=data, timeout=30)


def seed_client_rows(env) -> None:
    """Conversations and engagement of two clients, as the analytics tables hold them after a transform."""
    with env.warehouse() as connection:
        with connection.cursor() as cursor:
            cursor.executemany(
                "insert into analytics.conversations values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " null)", conversation_rows(40, dt.date(2026, 11, 29))
                + conversation_rows(5, dt.date(2026, 11, 29), client="globex"))
            cursor.execute(
                "insert into analytics.daily_conversation_metrics values"
                " ('2026-11-24', 'eu', 'acme', 'fr', 'mobile', 'web', 1234, 617, 3100),"
                " ('2026-11-29', 'eu', 'acme', 'en', 'desktop', 'ios', 3, 0, 3),"
                " ('2026-11-25', 'eu', 'globex', 'de', 'desktop', 'web', 7, 7, 20)")


def write_settings(folder: Path, smtp, **sections: dict[str, str]) -> Path:
    """The local stack's settings plus this console's: the SMTP server, rows not from a transform."""
    config = configparser.ConfigParser()
    config.read(LOCAL_SETTINGS)
    overrides = {"mail_server": {"host": smtp.host, "port": str(smtp.port)},
                 "exports": {"require_complete_data": "false"}, **sections}
    for section, values in overrides.items():
        if not config.has_section(section):
            config.add_section(section)
        for key, value in values.items():
            config.set(section, key, value)
    path = folder / "console.cfg"
    with path.open("w") as handle:
        config.write(handle)
    return path


def start_console(env, smtp, folder: Path, **sections: dict[str, str]) -> Console:
    from pipeline.warehouse import connection

    connection()  # the warehouse's tables, as a pipeline run leaves them
    seed_client_rows(env)
    port = free_port()
    process_env = {**os.environ, "LUIGI_CONFIG_PATH": str(write_settings(folder, smtp, **sections)),
                   "PIPELINE_CONSOLE_SECRET_KEY": os.urandom(32).hex()}
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "console", "--port", str(port)],
                               env=process_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/login", timeout=2)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the console did not start: {process.stdout.read()[-2000:]}") from None
            time.sleep(0.1)
    return Console(url, process, process_env)


def stop_console(console: Console) -> None:
    console.process.terminate()
    try:
        console.process.wait(10)
    except subprocess.TimeoutExpired:
        console.process.kill()
        console.process.wait(10)
    console.process.stdout.close()


class Reply:
    """A test-client response read as the tests read a `requests` one."""

    def __init__(self, response, url: str):
        self._response, self.url = response, url
        self.status_code, self.headers, self.content = response.status_code, response.headers, response.data
        response.close()  # as a server does once the body is sent: a download gives its slot back

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class ClientSession:
    """A browser-like session on the app through Flask's test client: cookies kept, redirects followed."""

    def __init__(self, app, base: str):
        self.client, self.base = app.test_client(), base

    def _send(self, method: str, url: str, allow_redirects: bool = True, **kwargs) -> Reply:
        kwargs.pop("timeout", None)
        if "params" in kwargs:
            kwargs["query_string"] = kwargs.pop("params")
        response = self.client.open(url.removeprefix(self.base), method=method, follow_redirects=allow_redirects,
                                    base_url=self.base, **kwargs)
        return Reply(response, self.base + response.request.full_path.rstrip("?"))

    def get(self, url: str, **kwargs) -> Reply:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> Reply:
        return self._send("POST", url, **kwargs)


@dataclass
class AppConsole:
    """The console app in this process, reached through Flask's test client (no server, no port): for page and
    API tests. Its runs are run by `run_queued()`, the worker's step, in this process."""

    app: object
    env: dict[str, str]
    url: str = "http://console.test"

    def add_user(self, email: str, role: str) -> None:
        from pipeline.console.server import add_user

        add_user(email, role, PASSWORD)

    def add_token(self, client: str, name: str = "") -> str:
        from pipeline.console.server import add_token

        return add_token(client, name)

    def session(self, email: str | None = None) -> ClientSession:
        session = ClientSession(self.app, self.url)
        if email:
            response = self.post_form(session, "/login", {"email": email, "password": PASSWORD})
            assert response.status_code == 200 and "Log out" in response.text, response.text[:500]
        return session

    def post_form(self, session: ClientSession, path: str, data: dict, csrf: bool = True) -> Reply:
        if csrf:
            page = session.get(self.url + "/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            data = {**data, "csrf_token": token[1] if token else ""}
        return session.post(self.url + path, data=data)

    def run_queued(self) -> list[str]:
        """Run the queued console runs to their end, as `pipeline console worker` would; their ids."""
        from pipeline.console.runs import RunWorker

        worker = RunWorker()
        claimed = worker.step()
        worker.wait()
        return claimed


def app_console(env, smtp, luigi_settings, monkeypatch, **sections: dict[str, str]) -> AppConsole:
    """The console app over the test's warehouse (with client rows) and state database, its settings the
    local stack's with this console's over them."""
    from pipeline.config import ConsoleSettings
    from pipeline.console.app import create_app
    from pipeline.warehouse import connection

    connection()
    seed_client_rows(env)
    overrides = {"mail_server": {"host": smtp.host, "port": str(smtp.port)},
                 "exports": {"require_complete_data": "false"}, **sections}
    for section, values in overrides.items():
        for key, value in values.items():
            luigi_settings(section, key, value)
    folder = Path(os.environ["PIPELINE_CONSOLE_DB_URL"].removeprefix("sqlite:///")).parent
    monkeypatch.setenv("LUIGI_CONFIG_PATH", str(write_settings(folder, smtp, **sections)))  # the worker's runs'
    monkeypatch.setenv("PIPELINE_CONSOLE_SECRET_KEY", os.urandom(32).hex())
    return AppConsole(create_app(ConsoleSettings()), {"PIPELINE_CONSOLE_DB_URL": os.environ["PIPELINE_CONSOLE_DB_URL"]})


def wait_for(predicate, timeout: float = 120, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)
