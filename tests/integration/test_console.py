"""The exports console's pages and the data API through Flask's test client, over the test's warehouse, SQLite
state and the local SMTP server: tokens, clients, roles, CSRF, throttling, forms, runs. (A real `pipeline
console` process on loopback: test_console_hardening.py and the browser tests.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import socket
import sqlite3
from pathlib import Path

import openpyxl
import pytest

from pipeline.cli import main
from tests.integration.console_stack import PASSWORD, app_console, write_settings

pytestmark = pytest.mark.integration

WEEK = {"start": "2026-11-23", "end": "2026-11-30"}


@pytest.fixture
def console(local_env, smtp_server, luigi_settings, monkeypatch):
    running = app_console(local_env, smtp_server, luigi_settings, monkeypatch)
    running.add_user("admin@example.com", "admin")
    running.add_user("editor@example.com", "editor")
    running.add_user("viewer@example.com", "viewer")
    smtp_server.messages.clear()
    return running


def state(env, sql: str) -> list[tuple]:
    path = env["PIPELINE_CONSOLE_DB_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def api(console, path: str, token: str | None = None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return console.session().get(f"{console.url}/api/v1{path}", headers=headers, params=params)


def test_a_clients_token_gets_its_rows_in_every_format_and_nothing_else(console, local_env):
    token = console.add_token("acme", "acme BI")
    listed = api(console, "/reports", token).json()
    assert listed["client_id"] == "acme"
    assert {r["name"] for r in listed["reports"]} == {"daily_client_conversations", "weekly_client_engagement",
                                                       "monthly_top_answers"}
    assert all("client_id" not in r["parameters"] for r in listed["reports"])  # bound by the token

    day = {"start": "2026-11-29", "end": "2026-11-30"}
    rows = api(console, "/reports/daily_client_conversations", token, **day).json()
    with local_env.warehouse() as connection:
        expected = connection.execute("select conversation_id from analytics.conversations where client_id = 'acme'"
                                      " order by started_at, conversation_id").fetchall()
    assert [r["conversation_id"] for r in rows] == [e[0] for e in expected] and len(rows) == 40
    assert rows[0]["started_at"] == "2026-11-29T08:00:00" and isinstance(rows[0]["chatter_responded"], bool)

    as_csv = api(console, "/reports/daily_client_conversations", token, format="csv", **day)
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(as_csv.text)))
    assert parsed[0][:2] == ["Started at", "Conversation"] and len(parsed) == 41

    as_xlsx = api(console, "/reports/weekly_client_engagement", token, format="xlsx", **WEEK)
    assert as_xlsx.status_code == 200, as_xlsx.text[:3000]
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet["A1"].value == "Engagement by language & device · Client: acme · 2026-11-23 to 2026-11-29"
    assert [c.value for c in sheet[2]][:3] == ["Language", "Device", "Conversations"]
    assert sheet["C3"].value == 1234 and sheet["C3"].number_format == "#,##0"
    assert sheet["E3"].value == 0.5 and sheet["E3"].number_format == "0.0%"

    refused = api(console, "/reports/daily_client_conversations", token, client_id="globex", **day)
    assert refused.status_code == 403 and refused.json()["parameter"] == "client_id"
    assert api(console, "/reports/daily_client_conversations", token, client_id="acme", **day).status_code == 200

    logged = state(console.env, "select token_name, template, rows_sent, status, format from console_api_calls "
                                "order by called_at, rowid")
    assert ("acme BI", "daily_client_conversations", 40, 200, "json") in logged
    assert ("acme BI", "weekly_client_engagement", 2, 200, "xlsx") in logged
    assert ("acme BI", "daily_client_conversations", None, 403, None) in logged


def test_missing_wrong_or_revoked_tokens_get_401_and_bad_parameters_400_naming_them(console):
    token = console.add_token("acme")
    assert api(console, "/reports").status_code == 401
    assert api(console, "/reports", "ap_000000000000.nope").status_code == 401
    assert api(console, "/reports", token[:-1] + "x").status_code == 401  # right id, wrong secret
    for params, culprit in (({"end": "2026-11-30"}, "start"), ({**WEEK, "start": "2026-13-01"}, "start"),
                            ({"start": "2026-11-30", "end": "2026-11-23"}, "end"),
                            ({**WEEK, "format": "pdf"}, "format"), ({**WEEK, "region": "eu"}, "region")):
        response = api(console, "/reports/weekly_client_engagement", token, **params)
        assert response.status_code == 400 and response.json()["parameter"] == culprit, (params, response.text)
    assert api(console, "/reports/no_such_report", token, **WEEK).status_code == 404

    session = console.session("admin@example.com")
    token_id = token.removeprefix("ap_").split(".")[0]
    console.post_form(session, "/tokens", {"revoke": token_id})
    assert api(console, "/reports", token).status_code == 401
    assert state(console.env, "select secret_hash from console_api_tokens")[0][0] not in token  # only a hash kept


def test_the_api_is_rate_limited_per_token(local_env, smtp_server, luigi_settings, monkeypatch):
    console = app_console(local_env, smtp_server, luigi_settings, monkeypatch,
                          console={"api_requests_per_minute": "3"})
    first, second = console.add_token("acme"), console.add_token("globex")
    assert [api(console, "/reports", first).status_code for _ in range(4)] == [200, 200, 200, 429]
    limited = api(console, "/reports", first)
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60
    assert api(console, "/reports", second).status_code == 200  # another token has its own budget


def test_the_openapi_description_lists_the_endpoints_and_reports(console):
    document = api(console, "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/reports", "/reports/{name}"}
    name = document["paths"]["/reports/{name}"]["get"]["parameters"][0]
    assert "weekly_client_engagement" in name["schema"]["enum"]
    assert {"400", "401", "403", "429"} <= set(document["paths"]["/reports/{name}"]["get"]["responses"])


def test_forms_need_their_csrf_token_and_each_role_its_rights(console):
    editor = console.session("editor@example.com")
    refused = console.post_form(editor, "/subscriptions/acme_daily_conversations/pause", {}, csrf=False)
    assert refused.status_code == 400 and "CSRF" in refused.text
    forged = editor.post(console.url + "/users", data={"email": "x@example.com", "role": "admin",
                                                       "password": PASSWORD, "csrf_token": "guessed"})
    assert forged.status_code == 400
    assert editor.post(console.url + "/logout", data={"csrf_token": "é"}).status_code == 400  # not a 500

    viewer = console.session("viewer@example.com")
    assert viewer.get(console.url + "/subscriptions").status_code == 200
    assert viewer.get(console.url + "/subscriptions/new").status_code == 403
    assert console.post_form(viewer, "/subscriptions/acme_daily_conversations/run", {"date": "2026-11-30"}
                             ).status_code == 403
    assert viewer.get(console.url + "/users").status_code == 403
    assert editor.get(console.url + "/users").status_code == 403
    admin = console.session("admin@example.com")
    assert admin.get(console.url + "/users").status_code == 200
    assert state(console.env, "select count(*) from console_users where email = 'x@example.com'") == [(0,)]

    for elsewhere in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/x", "/%09/evil.example/x"):
        landed = console.post_form(console.session(), f"/login?next={elsewhere}",
                                   {"email": "viewer@example.com", "password": PASSWORD})
        assert landed.url == console.url + "/subscriptions", elsewhere

    page = editor.get(console.url + "/subscriptions")
    cookie = console.session().get(console.url + "/login").headers["Set-Cookie"]
    assert cookie.startswith("pipeline_console=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert page.headers["Cache-Control"] == "no-store"


def test_log_in_is_throttled_and_passwords_are_kept_as_argon2_hashes(console):
    assert all(hash_.startswith("$argon2id$") for (hash_,) in state(console.env,
                                                                    "select password_hash from console_users"))
    session = console.session()
    unknown = console.post_form(session, "/login", {"email": "nobody@example.com", "password": "x"})
    assert unknown.status_code == 401 and "wrong e-mail address or password" in unknown.text  # no user list
    for _ in range(4):
        wrong = console.post_form(session, "/login", {"email": "editor@example.com", "password": "wrong password"})
        assert wrong.status_code == 401 and "wrong e-mail address or password" in wrong.text
    # Five failures from this client address: even the right password is refused now, for a while.
    locked = console.post_form(session, "/login", {"email": "editor@example.com", "password": PASSWORD})
    assert locked.status_code == 401 and "too many failed log-ins" in locked.text
    assert state(console.env, "select count(*) from console_audit where action = 'logged in'") == [(0,)]


def test_the_form_says_what_is_wrong_next_to_each_field(console):
    editor = console.session("editor@example.com")
    wrong = {"name": "acme_weekly_console", "description": "Acme weekly", "template": "weekly_client_engagement",
             "param_client_id": "initech", "format": "xlsx", "schedule": "monthly on 31",
             "recipients": "cs-acme@example.com, not-an-address"}
    response = console.post_form(editor, "/subscriptions/new?template=weekly_client_engagement", wrong)
    assert response.status_code == 400
    errors = dict(re_findall(response.text))  # every wrong field at once, each beside its field
    assert set(errors) == {"schedule", "recipients", "params-client_id"}
    assert "1 to 28" in errors["schedule"]  # a day some months lack would never fire in them
    assert "'not-an-address' is not an e-mail address" in errors["recipients"]
    assert errors["params-client_id"] == "unknown client 'initech'"
    assert 'value="monthly on 31"' in response.text  # what was typed stays, to be corrected
    fixed = {**wrong, "param_client_id": "acme", "schedule": "weekly on monday", "recipients": "cs-acme@example.com"}
    taken = console.post_form(editor, "/subscriptions/new", {**fixed, "name": "acme_daily_conversations"})
    assert dict(re_findall(taken.text)) == {"name": "'acme_daily_conversations' is taken by another export"}
    assert state(console.env, "select count(*) from console_subscriptions") == [(0,)]
    assert "created" in console.post_form(editor, "/subscriptions/new", fixed).text
    assert state(console.env, "select name, owner from console_subscriptions") == [
        ("acme_weekly_console", "editor@example.com")]


def re_findall(page: str) -> list[tuple[str, str]]:
    import html
    import re

    return [(field, html.unescape(text)) for field, text in
            re.findall(r'<span class="error" id="error-([\w-]+)">([^<]*)</span>', page)]


def test_a_subscription_runs_through_the_export_tasks_once_and_every_change_is_audited(console, smtp_server,
                                                                                        luigi_settings):
    editor = console.session("editor@example.com")
    created = console.post_form(editor, "/subscriptions/new?template=daily_client_conversations", {
        "name": "acme_daily_console", "description": "Acme daily (console)", "template": "daily_client_conversations",
        "param_client_id": "acme", "format": "csv", "csv_bom": "on", "schedule": "daily",
        "recipients": "cs-console@example.com"})
    assert created.status_code == 200 and "Subscription acme_daily_console created" in created.text

    # The scheduled run (cron's `pipeline export run`) picks it up beside exports.yml's, and sends it once.
    luigi_settings("mail_server", "host", smtp_server.host)
    luigi_settings("mail_server", "port", str(smtp_server.port))
    luigi_settings("exports", "require_complete_data", "false")  # rows were inserted, not transformed
    assert main(["export", "run", "--date", "2026-11-30", "--local-scheduler", "--quiet"]) == 0
    assert any(m["Subject"].startswith("Acme conversations") for m in smtp_server.messages)  # exports.yml's
    smtp_server.messages[:] = [m for m in smtp_server.messages if m["To"] == "cs-console@example.com"]
    (message,) = smtp_server.messages
    (attachment,) = message.iter_attachments()
    assert attachment.get_payload(decode=True).startswith(b"\xef\xbb\xbfStarted at,")  # its BOM option

    # Run now from the console for the same date: the interval is delivered already, so nothing is sent.
    ran = console.post_form(editor, "/subscriptions/acme_daily_console/run", {"date": "2026-11-30"})
    assert "Run of acme_daily_console for 2026-11-29 queued" in ran.text
    assert "queued" in editor.get(console.url + "/subscriptions/acme_daily_console").text
    assert len(console.run_queued()) == 1  # the worker's round
    assert state(console.env, "select exit_code, outcome from console_runs") == [(0, "done")]
    assert len(smtp_server.messages) == 1

    paused = console.post_form(editor, "/subscriptions/acme_daily_console/pause", {})
    assert "paused" in paused.text
    actions = state(console.env, "select actor, action, target, before_value, after_value from console_audit "
                                 "where target = 'acme_daily_console' order by at, rowid")
    assert [a[1] for a in actions] == ["subscription created", "export run requested", "export run done",
                                       "subscription paused"]
    assert [a[0] for a in actions] == ["editor@example.com", "editor@example.com", "console worker",
                                       "editor@example.com"]
    assert json.loads(actions[2][4])["outcome"] == "done"  # the run's outcome, recorded
    assert json.loads(actions[3][3])["paused"] is False and json.loads(actions[3][4])["paused"] is True
    page = console.session("viewer@example.com").get(console.url + "/subscriptions/acme_daily_console").text
    assert "2026-11-29" in page and "sent" in page and "Edit" not in page  # history shown, nothing to change


def test_exports_yml_entries_show_read_only(console):
    editor = console.session("editor@example.com")
    listing = editor.get(console.url + "/subscriptions").text
    assert "acme_weekly_engagement" in listing and "exports.yml" in listing
    assert editor.get(console.url + "/subscriptions/acme_weekly_engagement/edit").status_code == 403
    assert console.post_form(editor, "/subscriptions/acme_weekly_engagement/pause", {}).status_code == 403
    page = editor.get(console.url + "/subscriptions/acme_weekly_engagement").text
    assert "read-only here" in page and "Run now" in page  # a YAML export can still be run by hand


def test_every_templates_query_returns_its_declared_columns(local_env):
    from pipeline.exports.render import template_rows
    from pipeline.exports.schedule import Interval
    from pipeline.exports.templates import load_templates
    from pipeline.warehouse import connection

    week = Interval(dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    for template in load_templates().values():
        with template_rows(connection(), template, {"client_id": "acme"}, week, 10) as (columns, batches):
            list(batches)
        assert [column.name for column in columns] == list(template.columns), template.name


def test_the_console_state_can_live_in_postgresql(local_env, monkeypatch):
    from pipeline.console import accounts
    from pipeline.exports import subscriptions
    from pipeline.exports.definitions import definitions
    from pipeline.statedb import StateConnection, state_db

    monkeypatch.setenv("PIPELINE_CONSOLE_DB_URL", local_env.warehouse_url)  # the test's own PostgreSQL database
    entry = {"name": "pg_subscription", "description": "Kept in PostgreSQL", "template": "monthly_top_answers",
             "params": {"client_id": "globex"}, "format": "xlsx", "schedule": "monthly on 1",
             "recipients": ["cs@example.com"]}
    with state_db() as db:
        accounts.save_user(db, "test", "pg@example.com", "editor", PASSWORD)
        token = accounts.create_token(db, "test", "globex", "pg", known=["acme", "globex"])
        subscriptions.insert(db, entry, "pg@example.com", accounts.now_text())
    with pytest.raises(RuntimeError), state_db() as db:  # a failing unit of work leaves nothing behind
        accounts.save_user(db, "test", "gone@example.com", "viewer", PASSWORD)
        raise RuntimeError("rolled back")
    assert accounts.authenticate(StateConnection(), "PG@example.com", PASSWORD, "127.0.0.1", max_failures=5,
                                 lockout_minutes=15).role == "editor"
    with state_db(write=False) as db:
        assert accounts.token_for(db, token).client_id == "globex"
        assert accounts.find_user(db, "gone@example.com") is None
    found = definitions()["pg_subscription"]
    assert found.origin == "console" and found.owner == "pg@example.com" and found.params == {"client_id": "globex"}
    with local_env.warehouse() as connection:
        assert sorted(connection.execute("select action from console_audit").fetchall()) == [
            ("API token created",), ("logged in",), ("user added",)]


def test_admins_change_a_user_in_its_row_and_adding_never_overwrites(console):
    admin = console.session("admin@example.com")
    changed = console.post_form(admin, "/users", {"action": "change", "email": "editor@example.com", "role": "editor",
                                                  "password": "a new long password"})
    assert "User editor@example.com changed" in changed.text
    assert state(console.env, "select role, disabled from console_users where email = 'editor@example.com'") == [
        ("editor", 0)]  # a new password leaves the role and the flag as they were
    again = console.post_form(admin, "/users", {"action": "add", "email": "viewer@example.com", "role": "admin",
                                                "password": "whatever password"})
    assert again.status_code == 400 and "exists already" in again.text
    assert state(console.env, "select role from console_users where email = 'viewer@example.com'") == [("viewer",)]
    disabled = console.post_form(admin, "/users", {"action": "change", "email": "viewer@example.com",
                                                   "role": "viewer", "disabled": "on"})
    assert disabled.status_code == 200
    locked_out = console.post_form(console.session(), "/login", {"email": "viewer@example.com", "password": PASSWORD})
    assert locked_out.status_code == 401
    bad_token = console.post_form(admin, "/tokens", {"client_id": 'acme"; x=1', "name": "x"})
    assert bad_token.status_code == 400 and "is not a client id" in bad_token.text


def test_a_second_editor_cannot_silently_undo_the_first_ones_change(console):
    first, second = console.session("editor@example.com"), console.session("admin@example.com")
    entry = {"name": "acme_shared", "description": "Shared", "template": "daily_client_conversations",
             "param_client_id": "acme", "format": "csv", "schedule": "daily", "recipients": "cs@example.com"}
    console.post_form(first, "/subscriptions/new", entry)
    import re as regex

    form = second.get(console.url + "/subscriptions/acme_shared/edit").text
    version = regex.search(r'name="version" value="([^"]+)"', form)[1]
    assert "paused" in console.post_form(first, "/subscriptions/acme_shared/pause", {}).text
    stale = console.post_form(second, "/subscriptions/acme_shared/edit",
                              {**entry, "description": "Changed", "version": version})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    assert json.loads(state(console.env, "select entry from console_subscriptions")[0][0])["paused"] is True


def test_bad_dates_and_incomplete_downloads_are_refused_not_run(console):
    editor = console.session("editor@example.com")
    ran = console.post_form(editor, "/subscriptions/acme_daily_conversations/run", {"date": "0001-01-01"})
    assert "outside 2000 to 2099" in ran.text
    assert state(console.env, "select count(*) from console_runs") == [(0,)]
    assert editor.get(console.url + "/preview?template=daily_client_conversations&end=0001-01-01&run=1"
                      ).status_code == 400
    download = editor.get(console.url + "/preview/download.csv?template=daily_client_conversations")
    assert download.status_code == 400 and "client_id: missing" in download.text
    assert editor.get(console.url + "/subscriptions/acme_daily_conversations/files/9999-01-01").status_code == 400


def transformed(env, region: str, start: str, end: str) -> None:
    """The region's data transformed over [start, end), as the transform's audit rows record it."""
    with env.warehouse() as connection:
        connection.execute("insert into analytics.transform_audit (region, window_start, window_end, keys_touched, "
                           "declared, transformed_at) values (%s, %s, %s, 0, '', now())", (region, start, end))


def test_the_api_refuses_a_period_not_complete_yet_with_409_naming_each_regions_progress(console, local_env,
                                                                                          luigi_settings):
    luigi_settings("exports", "require_complete_data", "true")
    token = console.add_token("acme")
    transformed(local_env, "eu", "2026-11-20", "2026-11-27")
    week = api(console, "/reports/weekly_client_engagement", token, **WEEK)
    assert week.status_code == 409 and week.json()["complete_until"] == {"eu": "2026-11-27T00:00:00"}
    assert "the data for 2026-11-23 to 2026-11-29 is not complete yet" in week.json()["error"]
    served = api(console, "/reports/weekly_client_engagement", token, allow_incomplete="true", **WEEK)
    assert served.status_code == 200 and served.headers["X-Data-Complete"] == "false" and len(served.json()) == 2
    transformed(local_env, "eu", "2026-11-27", "2026-12-01")
    whole = api(console, "/reports/weekly_client_engagement", token, **WEEK)
    assert whole.status_code == 200 and whole.headers["X-Data-Complete"] == "true"
    assert api(console, "/reports/weekly_client_engagement", token, allow_incomplete="yes", **WEEK).json()[
        "parameter"] == "allow_incomplete"
    rules = api(console, "/openapi.json").json()["paths"]["/reports/{name}"]["get"]
    assert "409" in rules["responses"] and "at most 366 days" in str(rules["parameters"])


def test_a_run_now_failure_and_a_failed_delivery_read_as_sentences_in_the_console_and_export_list(
        local_env, smtp_server, luigi_settings, monkeypatch, capsys):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nobody listens on: the mail server is down
    port = closed.getsockname()[1]
    console = app_console(local_env, smtp_server, luigi_settings, monkeypatch,
                          exports={"require_complete_data": "true"})
    console.add_user("editor@example.com", "editor")
    console.add_user("admin@example.com", "admin")
    editor = console.session("editor@example.com")
    page = editor.get(console.url + "/subscriptions/acme_daily_conversations").text
    assert "Not ready for today" in page and "is not complete yet" in page  # flagged before the click

    console.post_form(editor, "/subscriptions/acme_daily_conversations/run", {"date": "2026-11-30"})
    console.run_queued()
    ((outcome,),) = state(console.env, "select outcome from console_runs")
    assert outcome.startswith("acme_daily_conversations: the data for 2026-11-29 is not complete yet (it is in the "
                              "warehouse for eu up to 2026-11-29 00:00 UTC, ")
    assert "the sync has not loaded it yet: it catches up by itself, or run `pipeline sync`" in outcome
    assert "luigi" not in outcome.lower() and "Worker" not in outcome and "Error" not in outcome

    for region in local_env.mongo_uris:
        transformed(local_env, region, "2026-11-29", "2026-11-30")
    monkeypatch.setenv("LUIGI_CONFIG_PATH", str(write_settings(
        Path(console.env["PIPELINE_CONSOLE_DB_URL"].removeprefix("sqlite:///")).parent, smtp_server,
        mail_server={"host": "127.0.0.1", "port": str(port)}, retry={"attempts": "1"})))
    console.post_form(editor, "/subscriptions/acme_daily_conversations/run", {"date": "2026-11-30"})
    console.run_queued()
    outcomes = [row[0] for row in state(console.env, "select outcome from console_runs order by started_at")]
    assert outcomes[-1] == (f"acme_daily_conversations for 2026-11-29 was not sent: the mail server 127.0.0.1:{port} "
                            f"refused the connection: is it running, and are [mail_server] host and port right? It is "
                            f"retried by the next `pipeline export run` that looks back to 2026-11-30 (deploy/ runs it "
                            f"daily, 7 days back), or at once with Run now for 2026-11-30 in the console")
    page = editor.get(console.url + "/subscriptions/acme_daily_conversations").text
    assert 'id="failed-deliveries"' in page and f"127.0.0.1:{port} refused the connection" in page
    assert "full log" not in page  # the output is for admins
    assert "full log" in console.session("admin@example.com").get(
        console.url + "/subscriptions/acme_daily_conversations").text

    luigi_settings("mail_server", "port", str(port))
    assert main(["export", "list"]) == 0
    listed = capsys.readouterr().out
    assert "not delivered: acme_daily_conversations for 2026-11-29 failed at" in listed and str(port) in listed
    closed.close()


def test_the_audit_log_shows_what_changed_a_page_at_a_time(console):
    editor = console.session("editor@example.com")
    entry = {"name": "acme_audited", "description": "Before", "template": "daily_client_conversations",
             "param_client_id": "acme", "format": "csv", "schedule": "daily", "recipients": "cs@example.com"}
    console.post_form(editor, "/subscriptions/new", entry)
    console.post_form(editor, "/subscriptions/acme_audited/edit", {**entry, "description": "After"})
    page = editor.get(console.url + "/audit").text
    assert "<del>Before</del> → <ins>After</ins>" in page and "<del>daily</del>" not in page  # only what changed
    for n in range(60):
        console.post_form(editor, "/subscriptions/acme_audited/pause" if n % 2 == 0 else
                          "/subscriptions/acme_audited/resume", {})
    first = editor.get(console.url + "/audit").text
    assert first.count("<tr>") == 51  # a header and 50 events
    older = re_first(r'id="older" href="([^"]+)"', first)
    second = editor.get(console.url + older.replace("&amp;", "&")).text
    assert "subscription created" in second and 'id="older"' not in second


def re_first(pattern: str, text: str) -> str:
    import re

    return re.search(pattern, text)[1]


def test_the_client_list_is_empty_on_a_warehouse_without_analytics_tables_and_other_errors_surface(local_env):
    """Told by the error's SQLSTATE (Dialect.is_missing_table), not by its words."""
    from pipeline.console.reports import known_clients
    from pipeline.warehouse import connect

    warehouse = connect()
    try:
        assert known_clients(warehouse) == []  # a fresh database: no analytics.conversations yet
        warehouse.execute("create schema analytics")
        warehouse.execute("create table analytics.conversations (client_id bigint)")
        warehouse.execute("insert into analytics.conversations values (7)")
        assert known_clients(warehouse) == [7]
        warehouse.execute("drop table analytics.conversations")
        warehouse.execute("create view analytics.conversations as select 1 / 0 as client_id")
        with pytest.raises(Exception, match="division by zero"):
            known_clients(warehouse)
    finally:
        warehouse.close()
