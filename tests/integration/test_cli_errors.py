"""Bad settings and unreachable services end the command with one line naming the culprit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.cli import main
from pipeline.local.services import free_port

pytestmark = pytest.mark.integration


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


BACKFILL = ("backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler")


def test_bad_warehouse_url_names_the_variable(local_env):
    result = run_cli(*BACKFILL, PIPELINE_WAREHOUSE_URL="mysql://admin:hunter2@db/x")
    assert_one_line_error(result, "PIPELINE_WAREHOUSE_URL", "mysql", "postgresql://")
    assert "hunter2" not in result.stderr


def test_unreachable_mongodb_names_the_setting_region_and_host(local_env, tmp_path):
    port = free_port()
    config = tmp_path / "fast.cfg"
    config.write_text("[sources]\nserver_selection_timeout_ms = 300\n")
    result = run_cli(*BACKFILL, PIPELINE_SOURCES=f"us=mongodb://127.0.0.1:{port}/ada",
                     LUIGI_CONFIG_PATH=str(config))
    assert_one_line_error(result, "PIPELINE_SOURCES", "'us'", f"127.0.0.1:{port}")


def test_unreachable_warehouse_names_the_variable_and_host(local_env):
    port = free_port()
    result = run_cli(*BACKFILL, PIPELINE_WAREHOUSE_URL=f"postgresql://loader:hunter2@127.0.0.1:{port}/dw")
    assert_one_line_error(result, "PIPELINE_WAREHOUSE_URL", f"127.0.0.1:{port}")
    assert "hunter2" not in result.stderr


def test_bad_dates_are_usage_errors(local_env):
    result = run_cli("backfill", "--start", "yesterday", "--end", "2026-11-21")
    assert result.returncode == 2 and "--start: 'yesterday'" in result.stderr


def test_no_scheduler_is_a_one_line_error_unless_local_is_asked(local_env, tmp_path):
    config = tmp_path / "scheduler.cfg"
    port = free_port()
    config.write_text(f"[core]\nscheduler_url = http://127.0.0.1:{port}\n")
    result = run_cli("sync", "--now", "2026-11-20T00:30", LUIGI_CONFIG_PATH=str(config))
    assert_one_line_error(result, f"no Luigi scheduler at http://127.0.0.1:{port}", "--local-scheduler")


def test_a_missing_bucket_is_one_line_naming_it(s3_env, monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_STORAGE_URL", "s3://no-such-bucket/prefix")
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pipeline: error: PIPELINE_STORAGE_URL: bucket 'no-such-bucket' at "
                                                "http://127.0.0.1:") and err[0].endswith(" does not exist"), err


def test_sql_check_prints_file_and_line_of_each_construct_and_fails(tmp_path):
    edited = tmp_path / "report.sql"
    edited.write_text("-- a report\nselect client_id, string_agg(\n  text, ',') from raw.messages\ngroup by 1;\n"
                      "insert into t values (1) on\n  conflict do nothing;\n")
    result = run_cli("sql-check", str(edited))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{edited}:2: string_agg (use listagg), which Redshift rejects",
                                          f"{edited}:5: ON CONFLICT, which Redshift rejects"]
    assert_one_line_error(result, "2 construct(s) redshift rejects in 1 files")
    assert_one_line_error(run_cli("sql-check", str(tmp_path / "missing.sql")), "missing.sql: no such file or folder")
    assert_one_line_error(run_cli("sql-check", "--dialect", "mysql", str(edited)),
                          "--dialect mysql: not a kind sql-check checks for (it checks redshift)")
    project = run_cli("sql-check")  # the SQL folder, the templates and every generated statement
    assert project.returncode == 0, project.stdout + project.stderr
    assert "nothing redshift rejects in" in project.stdout and "generated statements" in project.stdout
