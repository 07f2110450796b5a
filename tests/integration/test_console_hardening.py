"""The console against careless and hostile clients, on a real console process on loopback: the client address
behind the proxy, downloads nobody reads, connections that never finish their request, huge bodies. Each test
is bounded in time."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from tests.integration.console_stack import PASSWORD, app_console, start_console, stop_console

pytestmark = pytest.mark.integration

# Small enough to block a writer after a few MB, so a test needs no gigabytes; the caps are the product's own.
SETTINGS = {"proxy_hops": "1", "threads": "6", "max_streams": "3", "max_streams_per_holder": "2",
            "send_timeout_seconds": "4", "send_buffer_bytes": "65536"}


@pytest.fixture
def console(local_env, smtp_server, tmp_path):
    running = start_console(local_env, smtp_server, tmp_path, console=SETTINGS)
    running.add_user("editor@example.com", "editor")
    running.add_user("viewer@example.com", "viewer")
    yield running
    stop_console(running)


@pytest.fixture
def pages(local_env, smtp_server, luigi_settings, monkeypatch):
    """The same console's app through Flask's test client, for what needs no network."""
    running = app_console(local_env, smtp_server, luigi_settings, monkeypatch, console=SETTINGS)
    running.add_user("editor@example.com", "editor")
    return running


def from_address(console, address: str) -> requests.Session:
    session = console.session()
    session.headers["X-Forwarded-For"] = address  # as the TLS ingress in front of the console adds it
    return session


def test_failed_log_ins_behind_the_proxy_count_per_client_not_for_everyone(console):
    attacker = from_address(console, "203.0.113.7")
    for n in range(5):
        wrong = console.post_form(attacker, "/login", {"email": f"guess{n}@example.com", "password": "x"})
        assert wrong.status_code == 401 and "wrong e-mail address or password" in wrong.text
    refused = console.post_form(attacker, "/login", {"email": "editor@example.com", "password": PASSWORD})
    assert "too many failed log-ins" in refused.text  # that address is throttled ...
    colleague = from_address(console, "198.51.100.20")  # ... and nobody else
    welcome = console.post_form(colleague, "/login", {"email": "editor@example.com", "password": PASSWORD})
    assert welcome.status_code == 200 and "Log out" in welcome.text


def big_report(env, rows: int) -> None:
    """Enough rows for a download of tens of MB (a client that never reads it keeps the writer waiting)."""
    with env.warehouse() as connection:
        connection.execute(
            "insert into analytics.conversations (conversation_id, region, client_id, \"language\", device, platform,"
            " country, started_at, started_date, message_count, bot_message_count, chatter_message_count,"
            " chatter_responded) select lpad(to_hex(n), 24, 'f'), 'us', 'acme', 'fr', 'mobile', 'web', 'FR', "
            " timestamp '2026-11-29 08:00' + n * interval '1 second', date '2026-11-29', 3, 2, 1, true "
            f"from generate_series(1, {rows}) as n")


def unread_download(console, token: str) -> socket.socket:
    """Ask for the whole report and never read the answer."""
    reader = socket.create_connection(("127.0.0.1", int(console.url.rsplit(":", 1)[1])))
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.sendall(f"GET /api/v1/reports/daily_client_conversations?start=2026-11-01&end=2026-12-01&format=csv "
                   f"HTTP/1.1\r\nHost: console\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return reader


def login_page_seconds(console) -> float:
    started = time.monotonic()
    assert requests.get(console.url + "/login", timeout=30).status_code == 200
    return time.monotonic() - started


def test_downloads_nobody_reads_never_hang_the_console(console, local_env):
    big_report(local_env, 300_000)
    tokens = [console.add_token("acme", f"bi {n}") for n in range(4)]
    readers = [unread_download(console, token) for token in tokens for _ in range(2)]
    try:
        time.sleep(1.5)  # every admitted download has filled its buffers and waits for its reader
        assert login_page_seconds(console) < 2
        busy = requests.get(console.url + "/api/v1/reports/daily_client_conversations",
                            params={"start": "2026-11-29", "end": "2026-11-30", "format": "json"},
                            headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=10)
        assert busy.status_code == 429 and busy.headers["Content-Type"] == "application/json"
        # The stalled ones are closed after send_timeout_seconds and their slots freed: on a loaded machine
        # (a coverage run) that can take a few seconds more, so ask again until a bound well short of a hang.
        freed_by = time.monotonic() + int(SETTINGS["send_timeout_seconds"]) + 20
        time.sleep(int(SETTINGS["send_timeout_seconds"]) + 3)
        while True:
            freed = requests.get(console.url + "/api/v1/reports/daily_client_conversations",
                                 params={"start": "2026-11-29", "end": "2026-11-30", "format": "csv"},
                                 headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30)
            if freed.status_code != 429 or time.monotonic() > freed_by:
                break
            time.sleep(1)
        assert freed.status_code == 200 and len(freed.text.splitlines()) > 300_000
    finally:
        for reader in readers:
            reader.close()


def test_connections_that_never_finish_their_request_leave_room(console):
    port = int(console.url.rsplit(":", 1)[1])
    partial = []
    try:
        for _ in range(150):
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"GET /login HTTP/1.1\r\nHost: console\r\n")  # and never the blank line
            partial.append(connection)
        assert login_page_seconds(console) < 2
    finally:
        for connection in partial:
            connection.close()


def test_a_huge_body_is_refused_before_it_is_read(console):
    port = int(console.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: console\r\nContent-Type: text/plain\r\n"
                           b"Content-Length: 419430400\r\n\r\n" + b"x" * 65536)
        answer = connection.recv(4096)  # within the timeout, without sending the other 400 MB
    assert answer.startswith(b"HTTP/1.1 413")


def test_hammering_the_api_with_huge_paths_keeps_the_call_log_small(console):
    token = console.add_token("acme", "hammer")
    database = Path(console.env["PIPELINE_CONSOLE_DB_URL"].removeprefix("sqlite:///"))
    before = database.stat().st_size
    with requests.Session() as client:
        client.headers["Authorization"] = f"Bearer {token}"
        statuses = [client.get(f"{console.url}/api/v1/reports/{'x' * 200_000}", timeout=30).status_code
                    for _ in range(300)]
    assert statuses.count(429) >= 200 and set(statuses) == {404, 429}
    with sqlite3.connect(database) as state:
        logged = state.execute("select status, length(path) from console_api_calls").fetchall()
    assert len([status for status, _ in logged if status == 429]) == 1  # the first refusal of the minute
    assert max(length for _, length in logged) <= 256
    assert database.stat().st_size - before < 1 << 20


def test_repeated_run_clicks_queue_one_run_and_at_most_max_runs_at_once(pages):
    editor = pages.session("editor@example.com")
    database = pages.env["PIPELINE_CONSOLE_DB_URL"].removeprefix("sqlite:///")
    clicked = [pages.post_form(editor, "/subscriptions/acme_daily_conversations/resend", {"date": "2026-11-30"})
               for _ in range(12)]
    assert sum("is already queued or running" in page.text for page in clicked) == 11
    for day in range(20, 25):
        pages.post_form(editor, "/subscriptions/acme_daily_conversations/run", {"date": f"2026-11-{day}"})
    with sqlite3.connect(database) as state:
        queued = state.execute("select action, run_date from console_runs").fetchall()
    assert queued.count(("resend", "2026-11-30")) == 1
    assert len(queued) == 2  # [console] max_runs


def test_runs_wait_in_the_queue_through_a_console_restart_and_a_stopped_workers_run_is_marked_failed(
        local_env, smtp_server, luigi_settings, monkeypatch):
    monkeypatch.delenv("PIPELINE_SOURCES")  # the console needs no MongoDB credentials: the worker runs the runs
    first = app_console(local_env, smtp_server, luigi_settings, monkeypatch)
    first.add_user("editor@example.com", "editor")
    queued = first.post_form(first.session("editor@example.com"), "/subscriptions/acme_daily_conversations/run",
                             {"date": "2026-11-30"})
    assert "queued" in queued.text
    database = first.env["PIPELINE_CONSOLE_DB_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as state:  # as a worker killed during a run leaves it
        state.execute("insert into console_runs (run_id, subscription, run_date, action, requested_by, started_at, "
                      "claimed_by, claimed_at, heartbeat_at) values ('r1', 'acme_daily_conversations', '2026-11-29', "
                      "'run', 'cs@example.com', '2026-12-01T08:00:00.000000Z', 'gone:1', "
                      "'2026-12-01T08:00:00.000000Z', '2026-12-01T08:00:01.000000Z')")

    restarted = app_console(local_env, smtp_server, luigi_settings, monkeypatch)  # a new console process's app
    editor = restarted.session("editor@example.com")
    assert "queued" in editor.get(restarted.url + "/subscriptions/acme_daily_conversations").text
    monkeypatch.setenv("PIPELINE_SOURCES", local_env_sources(local_env))  # the worker has them
    assert len(restarted.run_queued()) == 1
    assert "the worker running it stopped" in editor.get(restarted.url + "/subscriptions/acme_daily_conversations").text
    with sqlite3.connect(database) as state:
        runs = dict(state.execute("select run_id, outcome from console_runs").fetchall())
    assert runs["r1"].startswith("the worker running it stopped")
    assert [outcome for run_id, outcome in runs.items() if run_id != "r1"] == ["done"]


def local_env_sources(env) -> str:
    return ",".join(f"{region}={uri}" for region, uri in env.mongo_uris.items())


def test_api_errors_are_json_previews_keep_the_api_range_and_tokens_need_a_known_client(console, local_env):
    token = console.add_token("acme", "bi")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    missing = api.get(f"{console.url}/api/v1/no/such/route", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]
    with local_env.warehouse() as connection:  # a table gone under the API's query: a failure nobody expected
        connection.execute("alter table analytics.conversations rename to conversations_away")
    try:
        failed = api.get(f"{console.url}/api/v1/reports/daily_client_conversations",
                         params={"start": "2026-11-29", "end": "2026-11-30"}, timeout=30)
    finally:
        with local_env.warehouse() as connection:
            connection.execute("alter table analytics.conversations_away rename to conversations")
    assert failed.status_code == 500 and failed.headers["Content-Type"] == "application/json"
    assert failed.json() == {"error": "internal error; the console's log has the details"}

    viewer = console.session("viewer@example.com")
    century = viewer.get(f"{console.url}/preview", params={"template": "daily_client_conversations", "run": "1",
                                                           "start": "2000-01-01", "end": "2099-01-01",
                                                           "param_client_id": "acme"}, timeout=30)
    assert century.status_code == 400 and "at most 366 days from the start" in century.text
    refused = console.cli("add-token", "--client", "acmee")
    assert refused.returncode != 0 and "the warehouse has no client 'acmee'; it knows acme, globex" in refused.stderr
    twice = api.get(f"{console.url}/api/v1/reports/daily_client_conversations", timeout=10, params=[
        ("client_id", "acme"), ("client_id", "acme"), ("start", "2026-11-29"), ("end", "2026-11-30")])
    assert twice.status_code == 400 and twice.json()["parameter"] == "client_id"
    short = console.cli("add-user", "--email", "new@example.com", "--role", "viewer", "--password-stdin",
                        stdin="short\n")
    assert short.returncode != 0 and "--password-stdin: " in short.stderr  # the option used, not --password


def test_a_session_ends_at_log_out_and_when_its_password_changes(console):
    def replay(cookies) -> requests.Response:  # the old cookie, as someone who copied it would send it
        stolen = requests.Session()
        stolen.cookies.update(cookies)
        return stolen.get(console.url + "/subscriptions", timeout=10, allow_redirects=False)

    editor = console.session("editor@example.com")
    cookies = editor.cookies.copy()
    assert replay(cookies).status_code == 200
    console.post_form(editor, "/logout", {})
    assert replay(cookies).status_code == 302  # to the log-in page

    editor = console.session("editor@example.com")
    cookies = editor.cookies.copy()
    assert console.add_user("editor@example.com", "editor") is None  # its password set again, from the command line
    assert replay(cookies).status_code == 302


def test_a_subscription_sends_a_clients_rows_only_to_its_domains_and_only_its_owner_changes_that(pages):
    console = pages
    console.add_user("editor2@example.com", "editor")
    console.add_user("admin@example.com", "admin")
    owner = console.session("editor@example.com")
    entry = {"name": "acme_daily_cs", "description": "Acme daily", "template": "daily_client_conversations",
             "param_client_id": "acme", "format": "csv", "schedule": "daily"}
    outside = console.post_form(owner, "/subscriptions/new?template=daily_client_conversations",
                                {**entry, "recipients": "cs@example.com, evil@attacker.test"})
    assert outside.status_code == 400
    assert "evil@attacker.test is outside client acme&#39;s domains (acme.example, example.com" in outside.text
    created = console.post_form(owner, "/subscriptions/new?template=daily_client_conversations",
                                {**entry, "recipients": "cs@example.com, bi@acme.example"})
    assert "Subscription acme_daily_cs created" in created.text

    other = console.session("editor2@example.com")
    moved = console.post_form(other, "/subscriptions/acme_daily_cs/edit",
                              {**entry, "param_client_id": "globex", "recipients": "cs@example.com"})
    assert moved.status_code == 403 and "only its owner (editor@example.com) or an admin" in moved.text
    same_audience = {**entry, "description": "Acme, daily", "recipients": "cs@example.com, bi@acme.example"}
    reworded = console.post_form(other, "/subscriptions/acme_daily_cs/edit", same_audience)
    assert "Subscription acme_daily_cs saved" in reworded.text  # anything else, any editor
    admin = console.session("admin@example.com")
    assert "saved" in console.post_form(admin, "/subscriptions/acme_daily_cs/edit",
                                        {**entry, "param_client_id": "globex", "recipients": "cs@example.com"}).text
