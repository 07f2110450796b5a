"""Seed two regions, backfill, compare the warehouse with the documents, rerun, update, sync, verify."""

from __future__ import annotations

import datetime as dt

import pytest
from pymongo import MongoClient

from pipeline.catalog import catalog
from pipeline.cli import main
from pipeline.local.demo_data import DemoDataSpec, seed_database, update_documents
from tests.integration.expectations import documents, expected_models, warehouse_models

pytestmark = pytest.mark.integration

DAY0 = dt.datetime(2026, 11, 20)
RAW_TABLES = tuple(source.table for source in catalog().sources.values())


def seed(env, per_day=250, days=2):
    for seed_value, (region, uri) in enumerate(env.mongo_uris.items(), start=1):
        spec = DemoDataSpec(region=region, start=DAY0, days=days, conversations_per_day=per_day, seed=seed_value)
        seed_database(MongoClient(uri).get_default_database(), spec)


def snapshot(connection) -> dict[str, list[tuple]]:
    tables = [*RAW_TABLES, *(model.table for model in catalog().models.values())]
    # _loaded_at, _read_started and _read_ended change on a rerun by design: compare the rows without them.
    return {table: sorted((row[:-3] if table.startswith("raw.") else row
                           for row in connection.execute(f"select * from {table}").fetchall()), key=repr)
            for table in tables}


def assert_matches_documents(env):
    expected = expected_models({region: documents(uri) for region, uri in env.mongo_uris.items()})
    with env.warehouse() as connection:
        actual = warehouse_models(connection)
        for table in RAW_TABLES:
            keys = connection.execute(f"select count(*), count(distinct region || _id) from {table}").fetchone()
            assert keys[0] == keys[1], f"{table} has duplicate keys"
    for name in expected:
        assert actual[name] == expected[name], f"analytics.{name} differs from the documents"
    assert expected["conversations"]


def test_backfill_rerun_update_sync_verify(s3_env, capsys):
    seed(s3_env)
    start, end = "2026-11-20", "2026-11-23"  # the generator lets the last day spill past midnight
    assert main(["backfill", "--start", start, "--end", end, "--local-scheduler", "--workers", "1"]) == 0
    assert_matches_documents(s3_env)

    with s3_env.warehouse() as connection:
        first = snapshot(connection)
    for _ in range(2):  # a rerun is a no-op (markers); a forced rerun of loaded windows must be too
        assert main(["backfill", "--start", start, "--end", end, "--local-scheduler", "--workers", "1"]) == 0
    assert main(["backfill", "--start", start, "--end", end, "--rerun", "--local-scheduler", "--workers", "1"]) == 0
    with s3_env.warehouse() as connection:
        assert snapshot(connection) == first

    changed_at = dt.datetime(2026, 11, 23, 1, 7)
    changed = {region: update_documents(MongoClient(uri).get_default_database(), region=region, at=changed_at,
                                        count=40)
               for region, uri in s3_env.mongo_uris.items()}
    assert sum(len(ids) for per_region in changed.values() for ids in per_region.values()) >= 80
    assert main(["sync", "--now", "2026-11-23T02:00", "--local-scheduler", "--workers", "1"]) == 0
    assert_matches_documents(s3_env)
    with s3_env.warehouse() as connection:
        loaded = connection.execute(
            "select count(*) from raw.conversations where updated_at = %s", (changed_at,)).fetchone()[0]
    assert loaded == sum(len(c["conversations"]) for c in changed.values())

    capsys.readouterr()
    assert main(["verify", "--start", start, "--end", "2026-11-24"]) == 0
    report = capsys.readouterr().out
    assert "MISMATCH" not in report and report.count(" ok") == 2 * len(catalog().sources) * 4


def test_a_late_load_of_an_earlier_read_never_overwrites_a_later_one(local_env):
    """A window read before a document changed, loaded only after sync loaded the change, keeps the change."""
    seed(local_env, per_day=60, days=1)
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--local-scheduler"]) == 0
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    victim = database.conversations.find_one({"updated_at": {"$lt": dt.datetime(2026, 11, 21)}})
    old_window_start = dt.datetime(2026, 11, 20)
    database.conversations.update_one({"_id": victim["_id"]},
                                      {"$set": {"device": "tablet-new", "updated_at": dt.datetime(2026, 11, 22, 3)}})
    assert main(["sync", "--now", "2026-11-22T04:00", "--local-scheduler"]) == 0
    # The day's parts, read before the change, are loaded again (as a slow load of an early read would be).
    with local_env.warehouse() as connection:
        connection.execute("delete from raw.load_audit where collection = 'conversations' and region = %s "
                           "and window_start = %s", (region, old_window_start))
        connection.execute("delete from analytics.transform_audit where region = %s and window_start = %s",
                           (region, old_window_start))
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    with local_env.warehouse() as connection:
        device, = connection.execute("select device from raw.conversations where _id = %s",
                                     (str(victim["_id"]),)).fetchone()
        kept, = connection.execute("select kept_newer from raw.load_audit where collection = 'conversations' "
                                   "and region = %s and window_start = %s", (region, old_window_start)).fetchone()
    assert device == "tablet-new"
    assert kept == 1


def test_the_tasks_also_run_through_the_luigi_command(local_env):
    import subprocess
    import sys
    from pathlib import Path

    seed(local_env, per_day=40, days=1)
    luigi_command = Path(sys.executable).parent / "luigi"
    result = subprocess.run(
        [str(luigi_command), "--module", "pipeline.tasks", "Backfill", "--start", "2026-11-20T0000",
         "--end", "2026-11-21T0000", "--local-scheduler"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from analytics.transform_audit").fetchone()[0] == 2


def test_a_conversation_that_moves_to_another_day_leaves_both_days_right(local_env):
    """The daily model's keys are read before and after the conversations model is rebuilt: the day a
    conversation left and the day it moved to are both rebuilt."""
    seed(local_env, per_day=60, days=1)
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--local-scheduler"]) == 0
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    moved_at = dt.datetime(2026, 11, 23, 10)
    victim = database.conversations.find_one({"created_at": {"$lt": dt.datetime(2026, 11, 21)}})
    database.conversations.update_one({"_id": victim["_id"]}, {"$set": {"created_at": moved_at,
                                                                         "updated_at": moved_at}})
    assert main(["backfill", "--start", "2026-11-23", "--end", "2026-11-24", "--local-scheduler"]) == 0
    assert_matches_documents(local_env)
    with local_env.warehouse() as connection:
        assert connection.execute("select sum(conversations) from analytics.daily_conversation_metrics "
                                  "where metric_date = '2026-11-23'").fetchone() == (1,)
