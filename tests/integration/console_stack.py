"""A running `pipeline console` for tests: its own process on loopback, over the test's warehouse (with
client rows), its own SQLite state, the session's SMTP server; and a logged-in HTTP session helper."""

from __future__ import annotations

import configparser
import datetime as dt
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


def wait_for(predicate, timeout: float = 120, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)
