"""Operations against real services: luigid, alerts to a local Slack capture and aiosmtpd, status, retries."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from pymongo import MongoClient

from pipeline.cli import main
from pipeline.local.demo_data import DemoDataSpec, seed_database
from pipeline.local.services import free_port
from tests.luigid import start_luigid, stop_luigid

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def luigid(tmp_path_factory):
    """The real luigid, started by `pipeline scheduler`, with task history in SQLite."""
    state = tmp_path_factory.mktemp("luigid")
    process, url = start_luigid(state)
    yield url, state
    stop_luigid(process)


def scheduler_config(tmp_path, url: str, extra: str = "") -> str:
    path = tmp_path / "luigi-ops.cfg"
    path.write_text(f"[core]\nscheduler_url = {url}\n{extra}")
    return str(path)


def seed(env, days=1, per_day=60):
    for seed_value, (region, uri) in enumerate(env.mongo_uris.items(), start=1):
        seed_database(MongoClient(uri).get_default_database(),
                      DemoDataSpec(region=region, start=dt.datetime(2026, 11, 20), days=days,
                                   conversations_per_day=per_day, seed=seed_value))


def task_list(url: str, status: str) -> dict:
    query = urllib.parse.quote(json.dumps({"status": status}))
    with urllib.request.urlopen(f"{url}/api/task_list?data={query}", timeout=5) as response:
        return json.loads(response.read())["response"]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


def test_sync_through_luigid_shows_its_tasks_done(local_env, luigid, tmp_path):
    url, _ = luigid
    seed(local_env)
    result = run_cli("sync", "--now", "2026-11-20T02:00", "--workers", "2",
                     LUIGI_CONFIG_PATH=scheduler_config(tmp_path, url, "[windows]\ninitial_lookback_hours = 2\n"
                                                                      "sync_minutes = 15\nlag_minutes = 5\n"
                                                                      "catch_up_minutes = 15\n"))
    assert result.returncode == 0, result.stderr[-2000:]
    done = task_list(url, "DONE")
    families = {task["name"] for task in done.values()}
    assert {"ExtractWindow", "LoadWindow", "TransformWindow", "Sync"} <= families
    windows = {(t["params"]["region"], t["params"]["window_start"]) for t in done.values()
               if t["name"] == "TransformWindow"}
    assert len(windows) == 2 * 7  # two regions, 15-minute windows from 00:00 to 01:45 (lag 5 min)
    # Each task told luigid what it did and how far it got.
    for task in done.values():
        if task["name"] in ("ExtractWindow", "LoadWindow", "TransformWindow"):
            assert task["progress_percentage"] == 100 and task["status_message"], task
    assert any("keys rebuilt over 3 models" in t["status_message"] for t in done.values()
               if t["name"] == "TransformWindow")


def test_two_workers_on_the_same_window_run_each_task_once(local_env, luigid, tmp_path):
    url, state = luigid
    seed(local_env, per_day=800)
    config = scheduler_config(tmp_path, url)
    args = [sys.executable, "-m", "pipeline.cli", "backfill", "--start", "2026-11-20", "--end", "2026-11-21",
            "--workers", "1"]
    env = {**os.environ, "LUIGI_CONFIG_PATH": config}
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    history = sqlite3.connect(state / "history.sqlite")
    runs = history.execute(
        "select t.name, count(*) from task_events e join tasks t on t.id = e.task_id"
        " where e.event_name = 'RUNNING' and t.name in ('ExtractWindow', 'LoadWindow', 'TransformWindow')"
        " and t.id in (select task_id from task_parameters where name = 'window_start' and value = '2026-11-20T0000')"
        " and t.id in (select task_id from task_parameters where name = 'window_minutes' and value = '1440')"
        " group by t.name").fetchall()
    assert dict(runs) == {"ExtractWindow": 6, "LoadWindow": 6, "TransformWindow": 2}
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.load_audit").fetchone()[0] == 6


def test_two_concurrent_reruns_through_luigid_both_succeed_with_correct_data(local_env, luigid, tmp_path):
    """A rerun deletes no marker: two at once are the same tasks to luigid, done once or twice, never failed."""
    from tests.integration.expectations import documents, expected_models, warehouse_models

    url, _ = luigid
    seed(local_env, per_day=300)
    env = {**os.environ, "LUIGI_CONFIG_PATH": scheduler_config(tmp_path, url)}
    # 12-hour windows: task ids no other test of this module gives the shared luigid.
    args = [sys.executable, "-m", "pipeline.cli", "backfill", "--start", "2026-11-20", "--end", "2026-11-22",
            "--window-minutes", "720", "--workers", "2"]
    # The first load without luigid: it ignores a redo of a task it saw done in the last 10 s (a guard
    # against running the same task twice), which would hide what this test is about.
    assert subprocess.run([*args, "--local-scheduler"], env=env, capture_output=True, timeout=300).returncode == 0
    before_reruns = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    runs = [subprocess.Popen([*args, "--rerun"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][1][-3000:] + outputs[1][1][-3000:]
    assert not any("Unfulfilled dependency" in err or "refused" in err for _, err in outputs)
    expected = expected_models({region: documents(uri) for region, uri in local_env.mongo_uris.items()})
    with local_env.warehouse() as connection:
        assert warehouse_models(connection) == expected
        loads = connection.execute("select count(*), min(loaded_at) from raw.load_audit").fetchone()
        transforms = connection.execute("select count(*), min(transformed_at) from analytics.transform_audit"
                                        ).fetchone()
    # Every window of both regions was loaded and transformed again by the reruns, and marked once.
    assert loads[0] == 2 * 4 * 3 and loads[1] >= before_reruns
    assert transforms[0] == 2 * 4 and transforms[1] >= before_reruns


def test_failures_send_one_slack_message_and_one_email_without_secrets(local_env, slack, smtp_server, tmp_path):
    smtp_server.messages.clear()
    # Three windows fail in region us: its conversations have no index on the cursor field.
    us_uri = local_env.mongo_uris["us"]
    MongoClient(us_uri).get_default_database().conversations.insert_many(
        [{"client_id": "acme", "updated_at": dt.datetime(2026, 11, 20 + day, 3)} for day in range(3)])
    config = tmp_path / "alerts.cfg"
    config.write_text(f"[alerts]\nemail_to = oncall@example.com\n[mail_server]\nhost = {smtp_server.host}\n"
                      f"port = {smtp_server.port}\n[retry]\nbase_delay_seconds = 0.01\n")
    result = run_cli("backfill", "--start", "2026-11-20", "--end", "2026-11-23", "--local-scheduler",
                     LUIGI_CONFIG_PATH=str(config), PIPELINE_SLACK_WEBHOOK_URL=f"{slack.url}/hook/T000/B000/s3cr3t",
                     AWS_SECRET_ACCESS_KEY="aws-secret-value")
    assert result.returncode == 1
    assert len(slack.payloads) == 1 and len(smtp_server.messages) == 1
    text = slack.payloads[0]["text"]
    assert "3 failure(s)" in text and text.count("ExtractWindow(") == 3 and "region=us" in text
    assert "no index on 'updated_at'" in text
    email_text = smtp_server.messages[0].get_content()
    for secret in ("s3cr3t", "aws-secret-value", "testing"):
        assert secret not in text and secret not in email_text
    with local_env.warehouse() as connection:
        recorded = connection.execute("select count(*) from ops.task_failures where region = 'us'").fetchone()[0]
    assert recorded == 3
    status = run_cli("status", LUIGI_CONFIG_PATH=str(config))
    assert "no index on 'updated_at'" in next((line for line in status.stdout.splitlines()
                                               if line.startswith("us ") and " conversations " in line),
                                              status.stdout + status.stderr)
    MongoClient(us_uri).get_default_database().conversations.create_index("updated_at")  # fixed
    assert run_cli("backfill", "--start", "2026-11-20", "--end", "2026-11-23", "--local-scheduler",
                   LUIGI_CONFIG_PATH=str(config)).returncode == 0
    status = run_cli("status", LUIGI_CONFIG_PATH=str(config))
    assert "no index" not in status.stdout  # a failure a later run got past is not the state


def test_an_unreachable_warehouse_alerts_once_without_the_password(local_env, slack, smtp_server, tmp_path):
    smtp_server.messages.clear()
    config = tmp_path / "alerts.cfg"
    config.write_text(f"[alerts]\nemail_to = oncall@example.com\n[mail_server]\nhost = {smtp_server.host}\n"
                      f"port = {smtp_server.port}\n")
    port = free_port()
    result = run_cli("sync", "--local-scheduler", LUIGI_CONFIG_PATH=str(config),
                     PIPELINE_SLACK_WEBHOOK_URL=f"{slack.url}/hook/x",
                     PIPELINE_WAREHOUSE_URL=f"postgresql://loader:hunter2@127.0.0.1:{port}/dw")
    assert result.returncode == 1
    assert len(slack.payloads) == 1 and len(smtp_server.messages) == 1
    text = slack.payloads[0]["text"]
    assert "pipeline sync" in text and f"127.0.0.1:{port}" in text and "hunter2" not in text
    assert "hunter2" not in smtp_server.messages[0].get_content()


def quarter_hour_windows(luigi_settings) -> None:
    """The window geometry these tests count in (the defaults are shorter)."""
    luigi_settings("windows", "initial_lookback_hours", "2")
    luigi_settings("windows", "sync_minutes", "15")
    luigi_settings("windows", "lag_minutes", "5")
    luigi_settings("windows", "catch_up_minutes", "15")  # each window on its own, however old


def test_status_reports_lag_and_alerts_when_stale(local_env, slack, capsys, monkeypatch, luigi_settings):
    quarter_hour_windows(luigi_settings)
    seed(local_env)
    assert main(["sync", "--now", "2026-11-20T02:00", "--local-scheduler", "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["status", "--now", "2026-11-20T02:00"]) == 0
    lines = capsys.readouterr().out.splitlines()
    us_messages = next(line for line in lines if line.startswith("us ") and " messages " in line)
    assert "2026-11-20 01:45" in us_messages and "0h 15m" in us_messages
    with local_env.warehouse() as connection:
        (loaded,) = connection.execute("select count(*) from raw.messages where region = 'us'").fetchone()
    assert us_messages.split()[6] == str(loaded) and loaded > 0  # documents changed in the last 24 h, each once

    monkeypatch.setenv("PIPELINE_SLACK_WEBHOOK_URL", f"{slack.url}/hook/x")
    assert main(["status", "--now", "2026-11-20T02:10", "--alert-after", "30m"]) == 0
    assert slack.payloads == []  # 25 minutes behind the 01:45 window end: fresh enough
    assert main(["status", "--now", "2026-11-20T04:00", "--alert-after", "30m"]) == 0
    (payload,) = slack.payloads
    assert "6 table(s) stale" in payload["text"] and "2h 15m behind" in payload["text"]


def test_a_task_luigid_disabled_runs_again_with_the_backfill_a_failure_names(local_env, luigid, tmp_path):
    url, _ = luigid
    database = MongoClient(local_env.mongo_uris["us"]).get_default_database()
    database.conversations.insert_one({"client_id": "acme", "updated_at": dt.datetime(2026, 10, 20, 3)})  # no index
    config = scheduler_config(tmp_path, url, "[retry]\nbase_delay_seconds = 0.01\n")
    args = ("backfill", "--start", "2026-10-20", "--end", "2026-10-21", "--workers", "1")
    for _ in range(3):  # three failures within the hour: luigid disables the task
        assert run_cli(*args, LUIGI_CONFIG_PATH=config).returncode == 1
    assert [t["params"]["collection"] for t in task_list(url, "DISABLED").values()
            if t["name"] == "ExtractWindow" and t["params"]["window_start"] == "2026-10-20T0000"] == ["conversations"]
    database.conversations.create_index("updated_at")  # the cause fixed, the operator runs the backfill again
    result = run_cli(*args, LUIGI_CONFIG_PATH=config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "enabled 1 task(s) luigid had disabled after repeated failures" in result.stderr


def test_sync_retries_a_window_that_failed_instead_of_stepping_over_it(local_env, luigi_settings):
    quarter_hour_windows(luigi_settings)
    seed(local_env)
    assert main(["sync", "--now", "2026-11-20T02:00", "--local-scheduler", "--workers", "1"]) == 0
    failed = dt.datetime(2026, 11, 20, 0, 45)
    with local_env.warehouse() as connection:  # as if that window's transform had failed
        connection.execute("delete from analytics.transform_audit where window_start = %s", (failed,))
    assert main(["sync", "--now", "2026-11-20T03:00", "--local-scheduler", "--workers", "1"]) == 0
    with local_env.warehouse() as connection:
        starts = {row[0] for row in connection.execute(
            "select window_start from analytics.transform_audit where region = 'us'").fetchall()}
    expected = {dt.datetime(2026, 11, 20) + dt.timedelta(minutes=15 * i) for i in range(11)}  # to 02:45
    assert starts == expected


def test_sync_reads_a_settled_backlog_in_hour_windows_and_the_last_hour_in_sync_windows(local_env, luigi_settings):
    luigi_settings("windows", "initial_lookback_hours", "2")  # the rest as shipped: 2-minute windows, 1 of lag
    seed(local_env)
    assert main(["sync", "--now", "2026-11-20T02:00", "--local-scheduler", "--workers", "2"]) == 0
    with local_env.warehouse() as connection:
        read = connection.execute("select window_start, window_end from analytics.transform_audit where region = "
                                  "'us' order by window_start").fetchall()
    hour = dt.datetime(2026, 11, 20, 1)
    # 00:00-01:00 is older than the second read's lookback (60 min): one task per collection reads it all.
    assert read[0] == (dt.datetime(2026, 11, 20), hour)
    assert read[1:] == [(hour + dt.timedelta(minutes=m), hour + dt.timedelta(minutes=m + 2)) for m in range(0, 58, 2)]


def test_the_scheduler_keeps_its_own_settings_under_the_deploy_config_path(tmp_path):
    """deploy/ sets LUIGI_CONFIG_PATH to the ConfigMap's luigi.cfg: luigid still records history, keeps its
    state in --state-dir and runs the documented retry policy."""
    import yaml

    config_map = yaml.safe_load((Path(__file__).parents[2] / "deploy/k8s/configmap.yaml").read_text())
    deploy_cfg = tmp_path / "luigi.cfg"
    deploy_cfg.write_text(config_map["data"]["luigi.cfg"])
    state, port = tmp_path / "state", free_port()
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "scheduler", "--state-dir", str(state),
                                "--port", str(port)], env={**os.environ, "LUIGI_CONFIG_PATH": str(deploy_cfg)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        from pipeline.scheduler import scheduler_reachable

        deadline = time.monotonic() + 30
        while not scheduler_reachable(f"http://127.0.0.1:{port}", timeout=1) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (state / "history.sqlite").exists(), "luigid records no task history"
        written = (state / "luigid.cfg").read_text()
        assert "retry_count = 3" in written and "scheduler_url = http://luigid.analytics" in written
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        stderr = process.communicate(timeout=10)[1].decode()
    assert "Config file does not exist" not in stderr
    assert (state / "state.pickle").exists()  # saved where --state-dir says, on SIGTERM


def test_planted_secrets_reach_no_output_and_no_alert(local_env, luigid, slack, smtp_server,
                                                                      tmp_path):
    """A warehouse URL whose password holds a space, an unescaped @ and a colon, with secret query
    parameters too, fails every run at scheduling: the secrets are in none of stdout, stderr (Luigi's
    tracebacks included), the Slack message or the e-mail. (What a task reports to luigid when it fails is
    redacted by PipelineTask.on_failure: tests/unit/test_secrets.py.)"""
    url, _ = luigid
    smtp_server.messages.clear()
    secrets = ("p@ss w:rd-1", "qu3ry-secret", "ssl-k3y-secret", "hook-s3cret")
    warehouse = f"postgresql://loader:{secrets[0]}@127.0.0.1:1/dw?password={secrets[1]}&sslpassword={secrets[2]}"
    config = tmp_path / "secrets.cfg"
    config.write_text(f"[core]\nscheduler_url = {url}\n[alerts]\nemail_to = oncall@example.com\n[mail_server]\n"
                      f"host = {smtp_server.host}\nport = {smtp_server.port}\n[retry]\nbase_delay_seconds = 0.01\n")
    env = {"LUIGI_CONFIG_PATH": str(config), "PIPELINE_WAREHOUSE_URL": warehouse,
           "PIPELINE_SLACK_WEBHOOK_URL": f"{slack.url}/hook/T000/B000/{secrets[3]}"}
    luigi_command = [str(Path(sys.executable).parent / "luigi"), "--module", "pipeline.tasks", "Backfill",
                     "--start", "2026-11-20T0000", "--end", "2026-11-21T0000", "--window-minutes", "720"]
    through_luigi = subprocess.run(luigi_command, env={**os.environ, **env}, capture_output=True, text=True,
                                   timeout=300)
    through_cli = run_cli("backfill", "--start", "2026-11-20", "--end", "2026-11-21", **env)
    assert through_cli.returncode == 1 and "***" in through_cli.stderr
    outputs = {"luigi stdout": through_luigi.stdout, "luigi stderr": through_luigi.stderr,
               "cli stdout": through_cli.stdout, "cli stderr": through_cli.stderr,
               "slack": json.dumps([p["text"] for p in slack.payloads]),
               "e-mail": "\n".join(m.as_string() for m in smtp_server.messages)}
    assert slack.payloads and smtp_server.messages and "malformed URL" in through_luigi.stderr
    for name, text in outputs.items():
        for secret in (*secrets, "p@ss w", "w:rd-1"):
            assert secret not in text, f"{secret!r} in {name}"


def test_commands_reach_luigid_by_flag_or_variable_and_verbose_logs_each_line_once(local_env, luigid, tmp_path):
    url, _ = luigid
    seed(local_env, per_day=20)
    by_flag = run_cli("-v", "backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--window-minutes", "360",
                      "--scheduler-url", url)
    assert by_flag.returncode == 0, by_flag.stderr[-2000:]
    assert by_flag.stderr.count("Done scheduling tasks") == 1  # Luigi's lines are not printed twice
    by_variable = run_cli("sync", "--now", "2026-11-20T01:00", PIPELINE_SCHEDULER_URL=url)
    assert by_variable.returncode == 0, by_variable.stderr[-2000:]
    done = {t["name"] for t in task_list(url, "DONE").values()}
    assert {"Backfill", "Sync"} <= done
    nowhere = run_cli("sync", "--scheduler-url", f"http://127.0.0.1:{free_port()}")
    assert nowhere.returncode == 1 and "--scheduler-url or PIPELINE_SCHEDULER_URL" in nowhere.stderr


def test_a_stale_table_with_no_alert_channel_fails_naming_the_settings(local_env):
    result = run_cli("status", "--alert-after", "30m")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("no alert channel configured: set PIPELINE_SLACK_WEBHOOK_URL or "
                                          "PIPELINE_SLACK_TOKEN, or [alerts] email_to")


def test_luigid_logs_its_own_lines_but_not_every_api_call(luigid):
    url, state = luigid
    for _ in range(20):
        task_list(url, "DONE")
    log = (state / "logs" / "luigi-server.log").read_text()
    assert "Scheduler starting up" in log and "/api/task_list" not in log  # Tornado's access lines stay out


def test_doctor_checks_every_service_and_names_the_one_that_is_down(local_env, luigid, smtp_server, slack,
                                                                    luigi_settings, monkeypatch, capsys):
    url, _ = luigid
    seed(local_env, per_day=5)
    luigi_settings("mail_server", "host", smtp_server.host)
    luigi_settings("mail_server", "port", str(smtp_server.port))
    luigi_settings("sources", "server_selection_timeout_ms", "300")
    monkeypatch.setenv("PIPELINE_SLACK_WEBHOOK_URL", f"{slack.url}/hook/doctor")

    def doctor(scheduler: str = url) -> tuple[int, list[str]]:
        capsys.readouterr()
        code = main(["doctor", "--scheduler-url", scheduler])
        return code, capsys.readouterr().out.splitlines()

    code, lines = doctor()
    assert code == 0, lines
    assert [line.split()[1] for line in lines] == ["declarations", "mongodb", "mongodb", "object", "warehouse",
                                                   "scheduler", "smtp", "alerts", "console"]
    assert all(line.startswith("ok") for line in lines) and slack.payloads == []  # a doctor posts nothing
    assert "not created yet" in lines[-1]  # the console's SQLite file: nothing saved, nothing created

    closed = free_port()  # nothing listens there: a stopped service
    monkeypatch.setenv("PIPELINE_SOURCES", f"us={local_env.mongo_uris['us']},eu=mongodb://127.0.0.1:{closed}/ada")
    code, lines = doctor()
    monkeypatch.setenv("PIPELINE_SOURCES", ",".join(f"{r}={u}" for r, u in local_env.mongo_uris.items()))
    assert code == 1 and [line.split()[1:3] for line in lines if line.startswith("FAIL")] == [["mongodb", "eu"]]

    luigi_settings("mail_server", "port", str(closed))
    code, lines = doctor()
    luigi_settings("mail_server", "port", str(smtp_server.port))
    assert code == 1 and [line.split()[1] for line in lines if line.startswith("FAIL")] == ["smtp"]

    code, lines = doctor(scheduler=f"http://127.0.0.1:{closed}")
    assert code == 1 and [line.split()[1] for line in lines if line.startswith("FAIL")] == ["scheduler"]
