"""--dry-run prints the plan and changes nothing: no table, no file, no marker."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo import MongoClient

from pipeline.cli import main
from tests.integration.test_end_to_end import seed

pytestmark = pytest.mark.integration
RANGE = ["--start", "2026-11-20", "--end", "2026-11-22"]


def tables(env) -> list[str]:
    with env.warehouse() as connection:
        return [row[0] for row in connection.execute(
            "select schemaname || '.' || tablename from pg_tables where schemaname not in "
            "('pg_catalog', 'information_schema') order by 1")]


def test_dry_runs_plan_and_change_nothing(local_env, capsys):
    seed(local_env, per_day=10, days=2)
    lake = Path(local_env.storage_url)
    assert main(["backfill", *RANGE, "--local-scheduler", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "to run  ExtractWindow    us messages" in out and "to run  TransformWindow  eu" in out
    # 2 days x 2 regions x (3 extracts, 3 loads, a transform)
    assert "dry run: 28 task(s) would run, 0 already done; nothing was changed" in out
    assert main(["sync", "--now", "2026-11-20T06:00", "--local-scheduler", "--dry-run"]) == 0
    assert "would run" in capsys.readouterr().out
    assert tables(local_env) == [] and not lake.exists()  # no table, no file

    assert main(["backfill", *RANGE, "--local-scheduler"]) == 0
    assert main(["backfill", *RANGE, "--local-scheduler", "--dry-run"]) == 0
    assert "dry run: 0 task(s) would run, 4 already done" in capsys.readouterr().out

    region, uri = next(iter(local_env.mongo_uris.items()))
    MongoClient(uri).get_default_database().conversations.delete_one({})
    before = tables(local_env), sorted(p.name for p in lake.rglob("*"))
    with local_env.warehouse() as connection:
        markers = connection.execute("select * from analytics.transform_audit order by 1, 2").fetchall()
    assert main(["reconcile", *RANGE, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete" in out and "windows that would be transformed again: " + region in out
    with local_env.warehouse() as connection:
        assert connection.execute("select * from analytics.transform_audit order by 1, 2").fetchall() == markers
        assert connection.execute("select count(*) from raw.conversations_replaced").fetchone() == (0,)
    assert (tables(local_env), sorted(p.name for p in lake.rglob("*"))) == before


def test_progress_is_printed_as_plain_lines_when_not_a_terminal_and_not_with_quiet(local_env, capsys,
                                                                                      luigi_settings):
    seed(local_env, per_day=10, days=2)
    luigi_settings("logs", "progress_seconds", "0.05")
    assert main(["backfill", *RANGE, "--local-scheduler"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("progress: ")]
    assert len(lines) >= 2  # periodic lines, then the last one
    assert lines[-1].startswith("progress: extract 12/12, load 12/12, transform 4/4; ") and "0 failed" in lines[-1]
    documents = int(lines[-1].split("; ")[1].split(" documents")[0].replace(",", ""))
    with local_env.warehouse() as connection:
        assert documents == connection.execute("select sum(extracted) from raw.load_audit").fetchone()[0]
    assert main(["backfill", "--rerun", *RANGE, "--local-scheduler", "--quiet"]) == 0
    assert "progress:" not in capsys.readouterr().err
