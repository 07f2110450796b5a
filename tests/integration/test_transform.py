"""ELT from the warehouse: a changed or new model is rebuilt from the raw tables alone (MongoDB down, the object
store emptied), its dependents with it and nothing else; a full refresh swaps a new shape in atomically."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from pymongo import MongoClient

from pipeline.cli import main
from pipeline.local.demo_data import DemoDataSpec, seed_database

pytestmark = pytest.mark.integration

DAY = dt.datetime(2026, 11, 20)
RANGE = ["--start", "2026-11-20", "--end", "2026-11-22"]
LOCAL = ["--local-scheduler", "--workers", "1"]

CLIENT_DAILY_YML = """\
description: Conversations and chatter messages per day and client.
grain: (metric_date, region, client_id)
unique_key: [metric_date, region, client_id]
depends_on:
  models: [conversations]
incremental:
  key: [metric_date]
  touched: |
    select ac.started_date as metric_date
    from analytics.conversations as ac
    inner join {touched_conversations} as t on t.conversation_id = ac.conversation_id
    where ac.region = %(region)s
columns:
  - {name: metric_date, type: date, description: "UTC day the conversations started."}
  - {name: region, type: text, max_length: 32, description: "Region.", tests: [not_null]}
  - {name: client_id, type: text, description: "The platform customer."}
  - {name: conversations, type: int, description: "Conversations started.", tests: [not_null]}
  - {name: chatter_messages, type: int, description: "Messages the chatters sent in them."}
"""

CLIENT_DAILY_SQL = """\
-- Conversations and chatter messages per day and client, for the days in {touched}.
select ac.started_date as metric_date, ac.region, ac.client_id, count(*) as conversations,
       sum(ac.chatter_message_count) as chatter_messages
from analytics.conversations as ac
where ac.region = %(region)s
  and ac.started_date in (select t.metric_date from {touched} as t)
group by ac.started_date, ac.region, ac.client_id
"""

# Independent of the models: straight from the raw tables.
MESSAGE_COUNTS = """
    select region, conversation_id, count(*) as messages,
           sum(case when sender = 'bot' then 1 else 0 end) as bot_messages,
           sum(case when sender = 'chatter' then 1 else 0 end) as chatter_messages
    from raw.messages group by region, conversation_id"""
RAW_DAILY_METRICS = f"""
select cast(coalesce(c.created_at, c.updated_at) as date), c.region, c.client_id, c."language", c.device,
       c.platform, count(*), sum(coalesce(m.messages, 0)), sum(coalesce(m.bot_messages, 0))
from raw.conversations as c
left join ({MESSAGE_COUNTS}) as m on m.region = c.region and m.conversation_id = c._id
group by 1, 2, 3, 4, 5, 6"""
RAW_CLIENT_DAILY = f"""
select cast(coalesce(c.created_at, c.updated_at) as date), c.region, c.client_id, count(*),
       sum(coalesce(m.chatter_messages, 0))
from raw.conversations as c
left join ({MESSAGE_COUNTS}) as m on m.region = c.region and m.conversation_id = c._id
group by 1, 2, 3"""



def rows(env, sql: str) -> list[tuple]:
    with env.warehouse() as connection:
        return sorted(connection.execute(sql).fetchall(), key=repr)


def seed(env, conversations_per_day: int = 40) -> None:
    for seed_value, (region, uri) in enumerate(env.mongo_uris.items(), start=1):
        seed_database(MongoClient(uri).get_default_database(),
                      DemoDataSpec(region=region, start=DAY, days=2, conversations_per_day=conversations_per_day,
                                   seed=seed_value))


def add_bot_messages_column(project: Path) -> None:
    """A changed model: daily_conversation_metrics gains a column, filled by its new SQL."""
    folder = project / "models" / "daily_conversation_metrics"
    (folder / "model.yml").write_text((folder / "model.yml").read_text() + (
        '  - {name: bot_messages, type: int, description: "Bot messages in those conversations."}\n'))
    (folder / "model.sql").write_text((folder / "model.sql").read_text().replace(
        "    sum(ac.message_count) as messages\n",
        "    sum(ac.message_count) as messages,\n    sum(ac.bot_message_count) as bot_messages\n"))


def sources_down(env, monkeypatch) -> None:
    """MongoDB gone (nothing listens where the regions point) and the object store emptied."""
    monkeypatch.setenv("PIPELINE_SOURCES", ",".join(f"{region}=mongodb://127.0.0.1:9/gone"
                                                    for region in env.mongo_uris))
    shutil.rmtree(env.storage_url)


def test_a_changed_and_a_new_model_are_rebuilt_from_the_raw_tables_alone(local_env, project, monkeypatch, capsys):
    seed(local_env)
    assert main(["backfill", *RANGE, *LOCAL]) == 0
    builds = "select region, window_start, model, fingerprint, built_at from analytics.model_builds"
    before = rows(local_env, builds)
    audit = rows(local_env, "select * from analytics.transform_audit")
    assert {r[2] for r in before} == {"conversations", "answer_usage_daily", "daily_conversation_metrics"}

    add_bot_messages_column(project)
    (project / "models" / "client_daily").mkdir()
    (project / "models" / "client_daily" / "model.yml").write_text(CLIENT_DAILY_YML)
    (project / "models" / "client_daily" / "model.sql").write_text(CLIENT_DAILY_SQL)
    sources_down(local_env, monkeypatch)

    capsys.readouterr()
    assert main(["transform", *RANGE, "--dry-run", *LOCAL]) == 0
    plan = capsys.readouterr().out
    assert plan.count("to run  BuildModels") == 4  # two regions, two days
    assert rows(local_env, builds) == before  # a dry run changes nothing
    assert not rows(local_env, "select * from information_schema.tables where table_name = 'client_daily'")
    assert main(["status"]) == 0
    models = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "stale: 4 window(s), 2026-11-20 00:00 .. 2026-11-22 00:00" in models["daily_conversation_metrics"]
    assert "stale: 4 window(s)" in models["client_daily"]
    assert "current" in models["conversations"] and "current" in models["answer_usage_daily"]
    assert "pipeline transform --start '2026-11-20 00:00' --end '2026-11-22 00:00'" in models["rebuild"]


    assert main(["transform", *RANGE, *LOCAL]) == 0
    assert rows(local_env, "select metric_date, region, client_id, \"language\", device, platform, conversations, "
                           "messages, bot_messages from analytics.daily_conversation_metrics") == rows(
        local_env, RAW_DAILY_METRICS)
    assert rows(local_env, "select metric_date, region, client_id, conversations, chatter_messages "
                           "from analytics.client_daily") == rows(local_env, RAW_CLIENT_DAILY)
    after = rows(local_env, builds)
    untouched = [r for r in before if r[2] in ("conversations", "answer_usage_daily")]
    assert [r for r in after if r[2] in ("conversations", "answer_usage_daily")] == untouched
    assert {r[2] for r in after} == {"conversations", "answer_usage_daily", "daily_conversation_metrics",
                                     "client_daily"}
    assert rows(local_env, "select * from analytics.transform_audit") == audit

    capsys.readouterr()  # nothing stale is left: a second run rebuilds nothing
    assert main(["transform", *RANGE, "--dry-run", *LOCAL]) == 0
    assert "to run" not in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "stale" not in capsys.readouterr().out


def test_backfill_without_rerun_rebuilds_a_changed_model_without_extracting(local_env, project):
    seed(local_env, conversations_per_day=20)
    assert main(["backfill", *RANGE, *LOCAL]) == 0
    loads = rows(local_env, "select * from raw.load_audit")
    add_bot_messages_column(project)
    assert main(["backfill", *RANGE, *LOCAL]) == 0
    assert rows(local_env, "select * from raw.load_audit") == loads  # nothing extracted or loaded again
    assert rows(local_env, "select metric_date, region, client_id, \"language\", device, platform, conversations, "
                           "messages, bot_messages from analytics.daily_conversation_metrics") == rows(
        local_env, RAW_DAILY_METRICS)


def test_a_removed_column_needs_the_full_refresh_whose_swap_readers_never_see_half_done(local_env, project, capsys):
    seed(local_env)
    assert main(["backfill", *RANGE, *LOCAL]) == 0
    conversations = rows(local_env, "select region, conversation_id, message_count from analytics.conversations")
    metrics = rows(local_env, "select * from analytics.daily_conversation_metrics")
    model = project / "models" / "conversations"
    (model / "model.yml").write_text("\n".join(line for line in (model / "model.yml").read_text().splitlines()
                                               if "name: country" not in line) + "\n")
    (model / "model.sql").write_text((model / "model.sql").read_text().replace(
        "    nullif(json_extract_path_text(c.meta, 'country'), '') as country,\n", ""))

    capsys.readouterr()
    assert main(["backfill", *RANGE, *LOCAL]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "pipeline transform --full-refresh --model conversations" in error[0]

    seen, stop = [], threading.Event()

    def poll() -> None:  # a dashboard reading while the refresh runs
        with psycopg.connect(local_env.warehouse_url, autocommit=True) as reader:
            while not stop.is_set():
                seen.append(reader.execute("select count(*), sum(message_count) from analytics.conversations"
                                           ).fetchone())

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        assert main(["transform", "--full-refresh", "--model", "conversations", *LOCAL]) == 0
    finally:
        stop.set()
        reader.join()
    whole = (len(conversations), sum(r[2] for r in conversations))
    assert seen and set(seen) == {whole}  # the old rows or the new ones, never a part or none
    assert rows(local_env, "select region, conversation_id, message_count from analytics.conversations") == (
        conversations)
    assert not rows(local_env, "select * from information_schema.columns where table_name = 'conversations' "
                               "and column_name = 'country'")
    assert rows(local_env, "select * from analytics.daily_conversation_metrics") == metrics  # dependents follow
    assert {r[0] for r in rows(local_env, "select model from analytics.model_refreshes")} == {
        "conversations", "answer_usage_daily", "daily_conversation_metrics"}
    assert main(["backfill", *RANGE, *LOCAL]) == 0  # the shape is the declared one again
    capsys.readouterr()
    assert main(["status"]) == 0
    refreshed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("conversations ")]
    assert refreshed and "current" in refreshed[0] and "never" not in refreshed[0]


def test_sync_rebuilds_the_newest_stale_days_first_a_few_per_run(local_env, project, luigi_settings, capsys):
    seed(local_env, conversations_per_day=20)
    assert main(["backfill", *RANGE, *LOCAL]) == 0
    add_bot_messages_column(project)
    luigi_settings("windows", "max_rebuilds_per_sync", "1")
    sync = ["sync", "--now", "2026-11-22T00:10", *LOCAL]
    capsys.readouterr()
    assert main(sync) == 0
    assert "2 span(s) of stale models rebuilt from the raw tables" in capsys.readouterr().out  # one per region
    stale = "select region, metric_date from analytics.daily_conversation_metrics where bot_messages is null"
    assert {day for _, day in rows(local_env, stale)} == {dt.date(2026, 11, 20)}
    assert main(["sync", "--now", "2026-11-22T00:15", *LOCAL]) == 0  # the next run (a new process in production)
    assert rows(local_env, stale) == []
    assert rows(local_env, "select metric_date, region, client_id, \"language\", device, platform, conversations, "
                           "messages, bot_messages from analytics.daily_conversation_metrics") == rows(
        local_env, RAW_DAILY_METRICS)


def test_a_warehouse_of_an_older_release_adopts_its_windows_as_built_by_the_models_its_markers_list(local_env,
                                                                                                    capsys):
    seed(local_env, conversations_per_day=10)
    assert main(["backfill", *RANGE, *LOCAL]) == 0
    listed = "sources: answers, conversations, messages; models: conversations, answer_usage_daily"
    with local_env.warehouse() as connection:  # as a release without model builds left it
        connection.execute("drop table analytics.model_builds")
        connection.execute("delete from ops.schema_columns where table_name = 'analytics.model_builds'")
        connection.execute(f"update analytics.transform_audit set declared = '{listed}'")
    # The new release's first command, in its own process: it makes analytics.model_builds and adopts.
    status = subprocess.run([sys.executable, "-m", "pipeline.cli", "status"], capture_output=True, text=True,
                            timeout=120)
    assert status.returncode == 0, status.stderr
    models = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    assert "current" in models["conversations"] and "current" in models["answer_usage_daily"]
    assert "stale: 4 window(s)" in models["daily_conversation_metrics"]  # its markers did not list it
    loads = rows(local_env, "select * from raw.load_audit")
    assert main(["backfill", *RANGE, *LOCAL]) == 0  # the source part of the old markers still counts
    assert rows(local_env, "select * from raw.load_audit") == loads  # nothing extracted again
    capsys.readouterr()
    assert main(["status"]) == 0 and "stale" not in capsys.readouterr().out
