"""The console database's versioned schema: a database made before migrations (revision 0001's schema, with
data) is upgraded in place by `pipeline console upgrade`, and HEAD names Alembic's newest revision."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from pipeline.cli import main
from pipeline.sqlfiles import read_sql
from pipeline.statedb import migrations, state_db


def test_head_is_alembics_newest_revision():
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_current_head() == migrations.HEAD


def test_a_database_made_before_migrations_is_upgraded_in_place_keeping_its_rows(tmp_path, monkeypatch, capsys):
    path = tmp_path / "console.db"
    with sqlite3.connect(path) as old:  # as the console created it before migrations
        old.executescript(read_sql("console/migrations/0001_baseline.sql"))
        old.execute("insert into console_runs (run_id, subscription, run_date, action, requested_by, started_at) "
                    "values ('r1', 'acme_daily', '2026-11-30', 'run', 'cs@example.com', '2026-12-01T08:00:00Z')")
        old.execute("insert into console_users values ('cs@example.com', 'editor', 'hash', 0, 'then', 'then')")
    monkeypatch.setenv("PIPELINE_CONSOLE_DB_URL", f"sqlite:///{path}")

    assert main(["console", "upgrade"]) == 0
    assert f"revision {migrations.HEAD}" in capsys.readouterr().out
    with state_db(write=False) as db:
        assert db.current_revision() == migrations.HEAD
        (run,) = db.query("select run_id, claimed_by, outcome from console_runs")
        assert run == {"run_id": "r1", "claimed_by": None, "outcome": None}  # the new columns, the old row
        assert db.query("select email from console_users") == [{"email": "cs@example.com"}]
    assert main(["console", "upgrade"]) == 0  # again: nothing to do, nothing lost


def test_a_new_database_gets_every_revision_when_first_opened(tmp_path):
    with state_db(f"sqlite:///{tmp_path}/fresh.db", write=False) as db:
        assert db.current_revision() == migrations.HEAD
        assert "heartbeat_at" in {row["name"] for row in db.query("pragma table_info(console_runs)")}
