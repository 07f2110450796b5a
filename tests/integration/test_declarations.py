"""A new collection is one source file, a new model is one folder: in a scratch copy of sql/, they are
extracted, loaded, built, tested and verified with no other edit; schema changes are applied or refused."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict

import pytest
from bson import ObjectId
from pymongo import MongoClient

from pipeline.cli import main
from pipeline.local.demo_data import DemoDataSpec, seed_database

pytestmark = pytest.mark.integration

DAY = dt.datetime(2026, 11, 20)
RANGE = ["--start", "2026-11-20", "--end", "2026-11-22", "--local-scheduler", "--workers", "1"]

FEEDBACK_SOURCE = """\
description: A chatter's rating of a conversation.
key: feedback_id
cursor: modified_at
columns:
  - {name: feedback_id, type: text, description: "The rating's own id (the MongoDB _id stays in _extra)."}
  - {name: conversation_id, type: objectid, description: "The rated conversation."}
  - {name: rating, type: int, description: "1 (bad) to 5 (good)."}
  - {name: created_at, type: timestamp, description: "When the chatter rated."}
  - {name: modified_at, type: timestamp, description: "Last change; the cursor (not named updated_at here)."}
"""

RATINGS_MODEL_YML = """\
description: Ratings per day.
grain: (metric_date, region)
unique_key: [metric_date, region]
depends_on:
  sources: [feedback]
incremental:
  key: [metric_date]
  touched: |
    select cast(f.created_at as date) as metric_date
    from "raw".feedback as f
    where f.region = %(region)s
      and f.modified_at >= %(window_start)s
      and f.modified_at < %(window_end)s
columns:
  - {name: metric_date, type: date, description: "UTC day of the rating."}
  - {name: region, type: text, max_length: 32, description: "Region.", tests: [not_null]}
  - {name: ratings, type: int, description: "Ratings given.", tests: [not_null]}
  - {name: good_ratings, type: int, description: "Ratings of 4 or 5."}
"""

RATINGS_MODEL_SQL = """\
-- Ratings per day and region, for the days in {touched}.
select
    cast(f.created_at as date) as metric_date,
    f.region,
    count(*) as ratings,
    sum(case when f.rating >= 4 then 1 else 0 end) as good_ratings
from "raw".feedback as f
where f.region = %(region)s
  and cast(f.created_at as date) in (select t.metric_date from {touched} as t)
group by cast(f.created_at as date), f.region
"""



def seed_feedback(uri: str, count: int) -> list[dict]:
    database = MongoClient(uri).get_default_database()
    conversations = list(database.conversations.find({}, {"_id": 1, "created_at": 1}).limit(count))
    docs = [{"_id": ObjectId(), "feedback_id": f"fb-{i:05d}", "conversation_id": c["_id"], "rating": 1 + i % 5,
             "created_at": c["created_at"] + dt.timedelta(minutes=5),
             "modified_at": c["created_at"] + dt.timedelta(minutes=5), "channel": "web"}
            for i, c in enumerate(conversations)]
    database.feedback.create_index("modified_at")
    database.feedback.insert_many(docs)
    return docs


def rows(env, sql: str) -> list[tuple]:
    with env.warehouse() as connection:
        return connection.execute(sql).fetchall()


def expected_ratings(feedback: dict[str, list[dict]]) -> dict:
    expected = defaultdict(lambda: [0, 0])
    for region, docs in feedback.items():
        for d in docs:
            expected[(d["created_at"].date(), region)][0] += 1
            expected[(d["created_at"].date(), region)][1] += d["rating"] >= 4
    return expected


def test_a_source_file_and_model_folders_load_and_build_with_no_other_edit(local_env, project, capsys):
    feedback = {}
    for seed_value, (region, uri) in enumerate(local_env.mongo_uris.items(), start=1):
        seed_database(MongoClient(uri).get_default_database(),
                      DemoDataSpec(region=region, start=DAY, days=1, conversations_per_day=60, seed=seed_value))
        feedback[region] = seed_feedback(uri, 40)
    assert main(["backfill", *RANGE]) == 0  # the project as it was

    (project / "sources" / "feedback.yml").write_text(FEEDBACK_SOURCE)
    (project / "models" / "ratings_daily").mkdir()
    (project / "models" / "ratings_daily" / "model.yml").write_text(RATINGS_MODEL_YML)
    (project / "models" / "ratings_daily" / "model.sql").write_text(RATINGS_MODEL_SQL)
    # A copy of an existing model under a new name, with nothing renamed inside: a second, identical table.
    shutil.copytree(project / "models" / "conversations", project / "models" / "conversations_copy")

    # The next backfill of the same range, no --rerun: windows done without the new source and models are
    # not done, so it loads the new collection and builds the new models for them.
    assert main(["backfill", *RANGE]) == 0
    loaded = rows(local_env, "select region, feedback_id, rating, _extra like '%\"channel\":\"web\"%' "
                             "from raw.feedback")
    assert sorted(loaded) == sorted((region, d["feedback_id"], d["rating"], True)
                                    for region, docs in feedback.items() for d in docs)
    assert {(r[0], r[1]): [r[2], r[3]] for r in rows(local_env, "select * from analytics.ratings_daily")
            } == expected_ratings(feedback)
    copy, original = (rows(local_env, f"select * from analytics.{t} order by region, conversation_id")
                      for t in ("conversations_copy", "conversations"))
    assert copy == original and len(copy) == 120

    # A newer version of some ratings, two days later: merged by the declared key and cursor.
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    for d in feedback[region][:10]:
        d.update(rating=5, modified_at=DAY + dt.timedelta(days=2, hours=2))
        database.feedback.update_one({"_id": d["_id"]}, {"$set": {"rating": 5, "modified_at": d["modified_at"]}})
    assert main(["backfill", "--start", "2026-11-22", "--end", "2026-11-23", "--local-scheduler"]) == 0
    assert rows(local_env, "select count(*), count(distinct region || feedback_id) from raw.feedback") == [(80, 80)]
    assert {(r[0], r[1]): [r[2], r[3]] for r in rows(local_env, "select * from analytics.ratings_daily")
            } == expected_ratings(feedback)

    capsys.readouterr()
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-22"]) == 0
    assert capsys.readouterr().out.count("feedback") == 2 * 2  # two regions, two days, all reconciled
    assert main(["test-data", "--model", "ratings_daily", "--model", "conversations_copy"]) == 0
    assert "no failure" in capsys.readouterr().out


def test_a_declared_column_is_added_and_a_type_change_is_refused(local_env, project, capsys):
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    seed_database(database, DemoDataSpec(region=region, start=DAY, days=1, conversations_per_day=30, seed=3))
    database.answers.update_many({}, {"$set": {"tone": "friendly"}})
    assert main(["backfill", *RANGE]) == 0
    assert rows(local_env, "select count(*) from raw.answers where _extra like '%friendly%'")[0][0] > 0

    answers = project / "sources" / "answers.yml"
    answers.write_text(answers.read_text() + '  - {name: tone, type: text, description: "Voice of the answer."}\n')
    assert main(["backfill", "--rerun", *RANGE]) == 0
    tones = rows(local_env, "select distinct tone, _extra from raw.answers")
    assert tones == [("friendly", None)]  # the new column holds what _extra held, and nothing is lost

    answers.write_text(answers.read_text().replace("name: version, type: int", "name: version, type: text"))
    capsys.readouterr()
    assert main(["backfill", *RANGE]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "raw.answers.version is bigint in the warehouse but sql/sources/answers.yml declares" in error[0]
    assert "migrate the table by hand" in error[0]


def test_a_broken_declaration_is_one_line_naming_the_file_and_field(local_env, project, capsys):
    (project / "models" / "conversations" / "model.yml").write_text(
        (project / "models" / "conversations" / "model.yml").read_text().replace("key: [conversation_id]",
                                                                                  "key: [conversation]"))
    assert main(["backfill", *RANGE]) == 2
    error = capsys.readouterr().err.strip()
    text = (project / "models" / "conversations" / "model.yml").read_text()
    line = text[:text.index("key: [conversation]")].count("\n") + 1
    assert error == ("pipeline: configuration error: sql/models/conversations/model.yml, field "
                     f"'incremental.key': 'conversation' is not a column (line {line})")


def test_a_failing_data_test_fails_the_window_and_names_model_test_and_keys(local_env, project, capsys):
    region, uri = next(iter(local_env.mongo_uris.items()))
    seed_database(MongoClient(uri).get_default_database(),
                  DemoDataSpec(region=region, start=DAY, days=1, conversations_per_day=40, seed=5))
    assert main(["backfill", *RANGE]) == 0
    silent = rows(local_env, "select region, conversation_id from analytics.conversations "
                             "where first_chatter_message_at is null order by 1, 2")
    assert silent  # conversations where the chatter never wrote

    model = project / "models" / "conversations" / "model.yml"
    model.write_text(model.read_text().replace(
        "{name: first_chatter_message_at, type: timestamp,",
        "{name: first_chatter_message_at, type: timestamp, tests: [not_null],"))
    capsys.readouterr()
    assert main(["test-data", "--model", "conversations"]) == 1
    report = capsys.readouterr()
    assert f"analytics.conversations: not_null(first_chatter_message_at) FAILED; offending keys (first 5): " \
           f"{silent[0]}" in report.out
    assert "analytics.conversations: unique(region, conversation_id) ok" in report.out
    assert "data test(s) failed" in report.err

    rerun_started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert main(["backfill", "--rerun", *RANGE]) == 1
    error = capsys.readouterr().err
    assert "model conversations: data test failed: analytics.conversations: not_null(first_chatter_message_at)" \
           in error
    done = rows(local_env, "select region, window_start, transformed_at from analytics.transform_audit")
    assert (region, DAY) not in [row[:2] for row in done]  # its reload took the old marker: it is not done
    assert len(done) == 3 and all(row[2] >= rerun_started for row in done)
    assert rows(local_env, "select region, conversation_id from analytics.conversations "
                           "where first_chatter_message_at is null order by 1, 2") == silent  # rolled back
