"""Exports against the real warehouse and a real SMTP server (aiosmtpd): content, once-only, retry, links."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import subprocess
import sys
import textwrap
import urllib.request
import zipfile

import openpyxl
import psycopg
import pytest

from pipeline.cli import main
from pipeline.exports.render import text_value
from pipeline.exports.templates import load_templates
from pipeline.warehouse import connection as warehouse_connection

pytestmark = pytest.mark.integration

RUN_DATE = "2026-11-30"  # a Monday: the daily and the weekly export are due
DEFINITIONS = textwrap.dedent("""
    exports:
      - name: acme_daily
        description: Acme conversations
        template: daily_client_conversations
        params: {client_id: acme}
        format: csv
        schedule: daily
        recipients: [cs-acme@example.com]
      - name: acme_weekly
        description: Acme engagement
        template: weekly_client_engagement
        params: {client_id: acme}
        format: xlsx
        schedule: weekly on monday
        recipients: [cs-acme@example.com]
        cc: [am@example.com]
      - name: acme_monthly_empty
        description: Nothing this month
        template: monthly_top_answers
        params: {client_id: nobody}
        format: xlsx
        schedule: monthly on 1
        recipients: [cs@example.com]
        skip_if_empty: true
""")


def conversation_rows(count: int, day: dt.date, client: str = "acme"):
    started = dt.datetime.combine(day, dt.time(8))
    return [(f"{i:024x}", "eu", client, ("fr", "en", "de")[i % 3], ("mobile", "desktop")[i % 2], "web", "FR",
             started + dt.timedelta(minutes=i), day, 3, 2 if i % 4 else 1, 1 if i % 4 else 0, bool(i % 4))
            for i in range(count)]


@pytest.fixture
def exports_env(local_env, smtp_server, luigi_settings, tmp_path):
    definitions = tmp_path / "exports.yml"
    definitions.write_text(DEFINITIONS)
    luigi_settings("exports", "definitions", str(definitions))
    luigi_settings("exports", "require_complete_data", "false")  # rows are inserted below, not transformed
    luigi_settings("mail_server", "host", smtp_server.host)
    luigi_settings("mail_server", "port", str(smtp_server.port))
    smtp_server.messages.clear()
    warehouse_connection()  # creates the schema
    with local_env.warehouse() as connection:
        with connection.cursor() as cursor:
            cursor.executemany(
                "insert into analytics.conversations values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " null)", conversation_rows(40, dt.date(2026, 11, 29)) + conversation_rows(5, dt.date(2026, 11, 29),
                                                                                         client="globex"))
            cursor.execute(
                "insert into analytics.daily_conversation_metrics values"
                " ('2026-11-24', 'eu', 'acme', 'fr', 'mobile', 'web', 10, 4, 31),"
                " ('2026-11-29', 'eu', 'acme', 'en', 'desktop', 'ios', 3, 0, 3),"
                " ('2026-11-30', 'eu', 'acme', 'en', 'desktop', 'ios', 99, 0, 3)")
    return local_env


def query_rows(env, sql_file: str, params: dict) -> tuple[list[str], list[tuple]]:
    with open(f"sql/exports/{sql_file}") as handle, env.warehouse() as connection:
        cursor = connection.execute(handle.read(), params)
        return [c.name for c in cursor.description], cursor.fetchall()


def deliveries(env) -> list[tuple]:
    with env.warehouse() as connection:
        return connection.execute("select export_name, interval_start, status, row_count, attached from "
                                  "exports.deliveries order by export_name").fetchall()


def test_due_exports_arrive_with_the_query_rows_once(exports_env, smtp_server):
    assert main(["export", "run", "--date", RUN_DATE, "--local-scheduler"]) == 0
    messages = {m["Subject"].split(":")[0]: m for m in smtp_server.messages}
    assert set(messages) == {"Acme conversations", "Acme engagement"}

    daily = messages["Acme conversations"]
    (attachment,) = daily.iter_attachments()
    assert attachment.get_filename() == "acme_daily_2026-11-29.csv"
    received = list(csv.reader(io.StringIO(attachment.get_content())))
    columns, rows = query_rows(exports_env, "daily_client_conversations.sql",
                               {"client_id": "acme", "start": dt.date(2026, 11, 29), "end": dt.date(2026, 11, 30)})
    templates = load_templates()
    assert received[0] == [templates["daily_client_conversations"].column(name).label for name in columns]
    assert received[0][:3] == ["Started at", "Conversation", "Region"]
    assert len(received) - 1 == len(rows) == 40
    assert received[1:] == [[("" if v is None else str(text_value(v))) for v in row] for row in rows]
    assert received[1][0] == "2026-11-29T08:00:00" and received[1][-1] in ("true", "false")
    assert "40 rows, attached as acme_daily_2026-11-29.csv." in daily.get_body(("plain",)).get_content()

    weekly = messages["Acme engagement"]
    assert weekly["Cc"] == "am@example.com"
    (attachment,) = weekly.iter_attachments()
    sheet = openpyxl.load_workbook(io.BytesIO(attachment.get_content())).active
    columns, rows = query_rows(exports_env, "weekly_client_engagement.sql",
                               {"client_id": "acme", "start": dt.date(2026, 11, 23), "end": dt.date(2026, 11, 30)})
    values = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert sheet.title == "Engagement by language & device"
    assert values[0][0] == "Engagement by language & device · Client: acme · 2026-11-23 to 2026-11-29"
    assert list(values[1]) == [templates["weekly_client_engagement"].column(name).label for name in columns]
    assert values[2:] == [tuple(float(v) if hasattr(v, "as_tuple") else v for v in row) for row in rows]
    assert sheet["E3"].number_format == "0.0%" and sheet["C3"].number_format == "#,##0"

    assert main(["export", "run", "--date", RUN_DATE, "--local-scheduler"]) == 0
    assert len(smtp_server.messages) == 2  # the same date again sends nothing
    assert [d[0] for d in deliveries(exports_env)] == ["acme_daily", "acme_weekly"]


def test_empty_export_is_skipped_when_asked_and_recorded(exports_env, smtp_server):
    assert main(["export", "run", "--date", "2026-12-01", "--name", "acme_monthly_empty", "--local-scheduler"]) == 0
    assert smtp_server.messages == []
    assert deliveries(exports_env) == [("acme_monthly_empty", dt.date(2026, 11, 1), "skipped_empty", 0, False)]


def test_a_temporary_smtp_refusal_is_retried_within_the_run(exports_env, smtp_server, luigi_settings):
    luigi_settings("retry", "base_delay_seconds", "0.01")
    smtp_server.fail_next(2)  # 451 twice: transient, so the task's own retries get it through
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_daily", "--local-scheduler"]) == 0
    assert len(smtp_server.messages) == 1 and len(deliveries(exports_env)) == 1


def test_failing_smtp_leaves_it_undelivered_and_a_later_run_delivers(exports_env, smtp_server, luigi_settings):
    luigi_settings("retry", "base_delay_seconds", "0.01")
    smtp_server.fail_next(4)  # every attempt of the run fails
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_daily", "--local-scheduler"]) == 1
    assert deliveries(exports_env) == [] and smtp_server.messages == []
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_daily", "--local-scheduler"]) == 0
    assert len(smtp_server.messages) == 1 and len(deliveries(exports_env)) == 1


def test_catch_up_delivers_each_missed_interval_once(exports_env, smtp_server):
    args = ["export", "run", "--start", "2026-11-28", "--end", "2026-12-01", "--name", "acme_daily",
            "--local-scheduler"]
    assert main(args) == 0 and main(args) == 0
    assert sorted(m["Subject"] for m in smtp_server.messages) == [
        "Acme conversations: 2026-11-27", "Acme conversations: 2026-11-28", "Acme conversations: 2026-11-29"]


def test_large_file_is_sent_as_a_presigned_link(s3_env, smtp_server, luigi_settings, tmp_path):
    definitions = tmp_path / "exports.yml"
    definitions.write_text(DEFINITIONS)
    luigi_settings("exports", "definitions", str(definitions))
    luigi_settings("exports", "attachment_limit_mb", "0.0001")  # ~100 bytes
    luigi_settings("exports", "require_complete_data", "false")
    luigi_settings("mail_server", "host", smtp_server.host)
    luigi_settings("mail_server", "port", str(smtp_server.port))
    smtp_server.messages.clear()
    warehouse_connection()
    with psycopg.connect(s3_env.warehouse_url, autocommit=True) as connection:
        connection.cursor().executemany(
            "insert into analytics.conversations values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, null)",
            conversation_rows(20, dt.date(2026, 11, 29)))
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_daily", "--local-scheduler"]) == 0
    (message,) = smtp_server.messages
    assert list(message.iter_attachments()) == []
    body = message.get_content()
    link = next(word for word in body.split() if word.startswith("http"))
    assert "X-Amz-Expires=259200" in link and "testing" not in link.split("?")[0]
    downloaded = urllib.request.urlopen(link, timeout=10).read().decode()
    assert downloaded.splitlines()[0].startswith("Started at,Conversation")
    assert len(downloaded.splitlines()) == 21


AUDIT = "insert into analytics.transform_audit (region, window_start, window_end, keys_touched, transformed_at) values"


def test_an_export_waits_until_its_interval_is_transformed(exports_env, smtp_server, luigi_settings):
    luigi_settings("exports", "require_complete_data", "true")
    args = ["export", "run", "--date", RUN_DATE, "--name", "acme_daily", "--local-scheduler"]
    with exports_env.warehouse() as connection:  # us is done for the 29th, eu only until 18:00
        connection.execute(f"{AUDIT} ('us', '2026-11-29', '2026-11-30', 1, now()),"
                           " ('eu', '2026-11-29', '2026-11-29 18:00', 1, now())")
    assert main(args) == 1
    assert smtp_server.messages == [] and deliveries(exports_env) == []
    with exports_env.warehouse() as connection:
        connection.execute(f"{AUDIT} ('eu', '2026-11-29 18:00', '2026-11-30', 1, now())")
    assert main(args) == 0
    assert len(smtp_server.messages) == 1


def test_bad_export_name_is_a_clear_error(exports_env):
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_dialy", "--local-scheduler"]) == 2


RENDER_200K = textwrap.dedent("""
    import datetime as dt, json, sys, time
    from pipeline.exports.definitions import parse_definitions
    from pipeline.exports.schedule import interval_for
    from pipeline.exports.render import render_export
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection
    from pipeline.config import parse_storage_url
    def peak_rss_mb():
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (pytest) across exec.
        status = open("/proc/self/status").read()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    definitions = parse_definitions(sys.argv[1], "test")
    definition = definitions["acme_daily"]
    began = time.monotonic()
    rendered = render_export(connection(), definition, interval_for("previous_day", dt.date(2026, 11, 30)),
                             ObjectStore(parse_storage_url(sys.argv[2])), batch_rows=5000)
    print(json.dumps({"rows": rendered.rows, "bytes": rendered.bytes, "seconds": time.monotonic() - began,
                      "peak_rss_mb": peak_rss_mb()}))
""")


def test_a_200k_row_xlsx_renders_in_flat_memory(local_env, tmp_path):
    warehouse_connection()
    with local_env.warehouse() as connection:
        connection.execute(
            "insert into analytics.conversations select lpad(to_hex(i), 24, '0'), 'eu', 'acme', 'fr', 'mobile',"
            " 'web', 'FR', timestamp '2026-11-29' + i * interval '100 milliseconds', date '2026-11-29', 5, 3, 2,"
            " true, null from generate_series(1, 200000) as i")
    definitions = DEFINITIONS.replace("format: csv", "format: xlsx")
    result = subprocess.run([sys.executable, "-c", RENDER_200K, definitions, str(tmp_path / "out")],
                            env={**os.environ}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    print(f"200k-row XLSX: {figures}")
    assert figures["rows"] == 200_000
    assert figures["peak_rss_mb"] < 150
    path = tmp_path / "out/exports/acme_daily/2026-11-29.xlsx"
    with zipfile.ZipFile(path) as workbook:  # every row is in the sheet: the title row, the header, the rows
        assert workbook.read("xl/worksheets/sheet1.xml").count(b"<row ") == 200_002
    sheet = openpyxl.load_workbook(path, read_only=True).active  # and a spreadsheet reader opens it
    first = list(itertools.islice(sheet.iter_rows(values_only=True), 3))
    assert first[2][1] == "000000000000000000000001"


def test_preview_writes_the_file_locally_and_sends_nothing(exports_env, smtp_server, tmp_path, capsys):
    out = tmp_path / "preview"
    assert main(["export", "preview", "acme_daily", "--date", RUN_DATE, "--out", str(out)]) == 0
    path = out / "exports/acme_daily/2026-11-29.csv"
    assert len(path.read_text(encoding="utf-8").splitlines()) == 41
    printed = capsys.readouterr().out
    assert "40 rows" in printed and "nothing sent" in printed
    assert smtp_server.messages == [] and deliveries(exports_env) == []


def test_overlapping_runs_send_each_interval_once(exports_env, smtp_server, tmp_path):
    import os
    import subprocess
    import sys

    config = tmp_path / "exports.cfg"
    config.write_text(f"[exports]\ndefinitions = {tmp_path / 'exports.yml'}\nrequire_complete_data = false\n"
                      f"[mail_server]\nhost = {smtp_server.host}\nport = {smtp_server.port}\n")
    command = [sys.executable, "-m", "pipeline.cli", "export", "run", "--date", RUN_DATE, "--local-scheduler"]
    runs = [subprocess.Popen(command, env={**os.environ, "LUIGI_CONFIG_PATH": str(config)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert sorted(m["Subject"].split(":")[0] for m in smtp_server.messages) == ["Acme conversations",
                                                                               "Acme engagement"]
    assert [(d[0], d[2]) for d in deliveries(exports_env)] == [("acme_daily", "sent"), ("acme_weekly", "sent")]


def test_a_refused_recipient_makes_a_partial_delivery_that_can_be_resent(exports_env, smtp_server, capsys):
    smtp_server.refuse("am@example.com")
    try:
        assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_weekly", "--local-scheduler"]) == 1
        assert "the SMTP server refused am@example.com (550 5.1.1 no such user (test))" in capsys.readouterr().err
        assert main(["export", "resend", "acme_weekly", "--date", RUN_DATE]) == 1  # still refused
        assert "refused am@example.com (550 5.1.1 no such user (test)) again" in capsys.readouterr().err
    finally:
        smtp_server.refuse()
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_weekly", "--local-scheduler"]) == 0
    assert [m["X-Delivered-To"] for m in smtp_server.messages] == ["cs-acme@example.com"]
    assert len(smtp_server.messages) == 1  # a partial delivery is a delivery: no second send to everyone
    with exports_env.warehouse() as connection:
        assert connection.execute("select status, refused from exports.deliveries").fetchall() == [
            ("partial", "am@example.com (550 5.1.1 no such user (test))")]
    assert main(["export", "resend", "acme_weekly", "--date", RUN_DATE]) == 0
    assert [m["X-Delivered-To"] for m in smtp_server.messages] == ["cs-acme@example.com", "am@example.com"]
    assert smtp_server.messages[0]["Message-ID"] == smtp_server.messages[1]["Message-ID"]
    with exports_env.warehouse() as connection:
        assert connection.execute("select status, refused from exports.deliveries").fetchall() == [("sent", None)]


def test_the_export_list_shows_next_run_and_last_delivery(exports_env, smtp_server, capsys):
    assert main(["export", "run", "--date", RUN_DATE, "--name", "acme_daily", "--local-scheduler"]) == 0
    capsys.readouterr()
    assert main(["export", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["export", "format", "schedule", "interval", "next", "run"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"acme_daily", "acme_weekly", "acme_monthly_empty"}
    assert " sent (2026-11-29) " in rows["acme_daily"]  # periods read the same everywhere
    assert " never " in rows["acme_weekly"] and "cs-acme@example.com, am@example.com" in rows["acme_weekly"]


def test_a_dry_run_names_each_export_its_period_and_recipients(exports_env, capsys):
    assert main(["export", "run", "--date", "2026-11-30", "--local-scheduler", "--dry-run"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "DeliverExport" in line]
    assert lines and all("acme_" in line and " to " in line and "@" in line for line in lines)
    assert any("acme_daily" in line and "2026-11-29" in line for line in lines)
