"""Data fidelity on the real local services: type drift keeps every document and its original values,
quarantined documents are listed, shown and replayed after a declaration fix, deletes in MongoDB reach raw
and analytics through `reconcile`, and models keep no stale row when a dimension changes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from bson import Decimal128, Int64, ObjectId
from bson.json_util import CANONICAL_JSON_OPTIONS
from bson.json_util import loads as bson_loads
from pymongo import MongoClient

from pipeline.cli import main
from pipeline.sqlfiles import SQL_DIR_ENV, sql_dir
from tests.integration.test_end_to_end import assert_matches_documents, seed

pytestmark = pytest.mark.integration

DAY = dt.datetime(2026, 11, 20)
AT = DAY + dt.timedelta(hours=9)
BACKFILL_DAY = ["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]


def nested(depth: int) -> dict:
    value: dict = {"leaf": "bottom"}
    for level in range(depth - 1):
        value = {f"level{level}": value}
    return value


def drift_corpus() -> dict[str, dict[str, dict]]:
    """Per collection, documents whose fields drift from every declared type: name -> document."""
    conversation_id, answer_id = ObjectId(), ObjectId()
    base = {"created_at": AT, "updated_at": AT}
    conversations = {
        "number_in_text": {"_id": conversation_id, "client_id": "acme", "language": 3.5, "device": "mobile",
                           "platform": "web", "meta": nested(100), **base},
        "dots_and_dollars": {"_id": ObjectId(), "client_id": "acme", "language": "fr",
                             "meta": {"a.b": 1, "$x": {"c.d": "e"}, "country": "FR"},
                             "extra": {"k.e.y": "v", "$d": 2}, **base},
    }
    messages = {
        "nul_text": {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme", "sender": "bot",
                     "answer_id": answer_id, "text": "a\x00b", **base},
        "nul_json": {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme",
                     "sender": "chatter", "meta": {"note": "x\x00y"}, "campaign": "c\x00", **base},
        "object_in_text": {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme",
                           "sender": "bot", "text": nested(100), "confidence": "0.75", **base},
        "date_as_string": {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme",
                           "sender": "chatter", "text": "hi", "created_at": "2026-11-20T09:30:00Z",
                           "updated_at": AT},
        "bad_decimal": {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme",
                        "sender": "bot", "confidence": Decimal128("0.1234567"), **base},
    }
    answers = {
        "rich_content": {"_id": answer_id, "client_id": "acme", "title": "Reset password", "language": "fr",
                         "content": {"blocks": [{"type": "p", "text": "Clique"}, {"type": "link", "n": Int64(2)}]},
                         "active": [1], "version": "7", **base},
        "word_version": {"_id": ObjectId(), "client_id": "acme", "title": "Other", "language": "fr",
                         "content": "plain", "active": True, "version": "seven", **base},
    }
    return {"conversations": conversations, "messages": messages, "answers": answers}


def raw_rows(env, collection: str) -> dict[str, dict]:
    with env.warehouse() as connection:
        cursor = connection.execute(f'select * from "raw".{collection}')
        columns = [c.name for c in cursor.description]
        return {row[columns.index("_id")]: dict(zip(columns, row)) for row in cursor.fetchall()}


def test_a_drift_corpus_lands_with_nothing_lost_and_the_originals_come_back(local_env, capsys, slack,
                                                                            monkeypatch):
    monkeypatch.setenv("PIPELINE_SLACK_WEBHOOK_URL", f"{slack.url}/hook/x")
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    corpus = drift_corpus()
    for collection, docs in corpus.items():
        database[collection].create_index("updated_at")
        database[collection].insert_many(list(docs.values()))

    assert main(BACKFILL_DAY) == 0

    for collection, docs in corpus.items():
        rows = raw_rows(local_env, collection)
        assert set(rows) == {str(doc["_id"]) for doc in docs.values()}, collection  # nothing quarantined
        for name, doc in docs.items():
            row = rows[str(doc["_id"])]
            stored = database[collection].find_one({"_id": doc["_id"]})  # as MongoDB gives it back
            kept = bson_loads(row["_drift"], json_options=CANONICAL_JSON_OPTIONS) if row["_drift"] else {}
            for field, original in kept.items():
                expected = stored[field] if field != "_extra" else {k: v for k, v in stored.items()
                                                                    if k not in row and k != "_id"}
                assert original == expected, (collection, name, field)
    conversations, messages, answers = (raw_rows(local_env, c) for c in ("conversations", "messages", "answers"))
    c = corpus["conversations"]["number_in_text"]
    assert conversations[str(c["_id"])]["language"] == "3.5"  # coerced, and the double kept
    m = corpus["messages"]
    assert messages[str(m["nul_text"]["_id"])]["text"] is None
    assert messages[str(m["object_in_text"]["_id"])]["text"].startswith('{"level98":')
    assert messages[str(m["object_in_text"]["_id"])]["confidence"] == Decimal("0.75")
    assert messages[str(m["date_as_string"]["_id"])]["created_at"] == dt.datetime(2026, 11, 20, 9, 30)
    assert messages[str(m["bad_decimal"]["_id"])]["confidence"] is None
    a = corpus["answers"]["rich_content"]
    assert answers[str(a["_id"])]["version"] == 7 and answers[str(a["_id"])]["active"] is None
    assert '"blocks"' in answers[str(a["_id"])]["content"]

    with local_env.warehouse() as connection:
        # The analytics keep every other field: the answer's usage has its title.
        assert connection.execute("select answer_title, times_shown from analytics.answer_usage_daily"
                                  ).fetchall() == [("Reset password", 1)]
        # The warehouse explains itself: comments from the declarations.
        (drift_comment,) = connection.execute(
            "select d.description from pg_description as d join pg_attribute as a on a.attrelid = d.objoid and "
            "a.attnum = d.objsubid where d.objoid = 'raw.messages'::regclass and a.attname = '_drift'").fetchone()
        assert drift_comment.startswith("Values that did not fit their declared type")
        assert "engaged" in connection.execute(
            "select obj_description('analytics.daily_conversation_metrics'::regclass)").fetchone()[0]
        kinds = connection.execute("select collection, field, observed_type from ops.drift_types "
                                   "order by 1, 2, 3").fetchall()
    assert ("answers", "content", "object") in kinds and ("messages", "text", "string (NUL character)") in kinds
    assert ("conversations", "language", "double") in kinds and ("answers", "active", "array") in kinds

    # Each new kind of drift is announced once, per collection's load: three messages.
    announced = sorted(payload["text"] for payload in slack.payloads)
    assert len(announced) == 3 and "answers.content: object, 1 document(s) (0 stored as NULL)" in announced[0]
    capsys.readouterr()
    assert main(["drift", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    report = capsys.readouterr().out
    assert "answers.content" in report and "object" in report and str(a["_id"]) in report
    assert report.startswith("type drift of the windows from 2026-11-20 00:00 to 2026-11-21 00:00")
    assert main(["backfill", "--rerun", *BACKFILL_DAY[1:]]) == 0
    with local_env.warehouse() as connection:  # each kind is announced (recorded) once, not per rerun
        assert connection.execute("select count(*) from ops.drift_types").fetchone() == (len(kinds),)
    assert len(slack.payloads) == 3
    capsys.readouterr()
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "type drift:" in out
    assert out.splitlines()[-1].startswith("verify 2026-11-20 00:00 .. 2026-11-21 00:00: ")  # one summary line
    assert out.splitlines()[-1].endswith("match the source, and every loaded window is transformed with the models "
                                         "of now")


def test_quarantine_is_listed_shown_and_replayed_after_a_declaration_fix(local_env, tmp_path, monkeypatch, capsys):
    scratch = tmp_path / "sql"
    shutil.copytree(sql_dir(), scratch)
    monkeypatch.setenv(SQL_DIR_ENV, str(scratch))
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    database.messages.create_index("updated_at")
    database.conversations.create_index("updated_at")
    conversation_id = ObjectId()
    legacy = [{"_id": f"legacy-{i}", "conversation_id": conversation_id, "client_id": "acme", "sender": "chatter",
               "text": f"old id {i}", "created_at": AT, "updated_at": AT} for i in range(3)]
    oversized = {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme", "sender": "bot",
                 "text": "x" * 70_000, "created_at": AT, "updated_at": AT}
    fine = {"_id": ObjectId(), "conversation_id": conversation_id, "client_id": "acme", "sender": "bot",
            "text": "ok", "created_at": AT, "updated_at": AT}
    database.messages.insert_many([*legacy, oversized, fine])
    database.conversations.insert_one({"_id": conversation_id, "client_id": "acme", "language": "fr",
                                       "created_at": AT, "updated_at": AT})

    assert main(BACKFILL_DAY) == 0
    capsys.readouterr()
    assert main(["quarantine", "list", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    listing = capsys.readouterr().out
    assert "expected an ObjectId" in listing and "legacy-0" in listing and "over the 65535-byte limit" in listing
    assert main(["quarantine", "show", region, "messages", "legacy-1"]) == 0
    shown = capsys.readouterr().out
    assert '"text": "old id 1"' in shown and "expected an ObjectId" in shown
    assert main(["quarantine", "show", region, "messages", "nope"]) == 1

    messages_yml = scratch / "sources" / "messages.yml"
    text = messages_yml.read_text()
    declared = next(line for line in text.splitlines() if "name: _id" in line)
    messages_yml.write_text(text.replace(declared, declared.replace("type: objectid", "type: text, max_length: 64")))
    capsys.readouterr()
    assert main(["quarantine", "replay", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    assert "replayed 4 quarantined document(s): 3 now loaded, 1 still quarantined" in capsys.readouterr().out
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.messages").fetchone() == (4,)
        assert connection.execute("select message_count from analytics.conversations").fetchone() == (4,)
        assert connection.execute("select count(*), min(reason) from raw.load_quarantine").fetchone()[0] == 1
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0  # counts reconcile after
    capsys.readouterr()
    assert main(["quarantine", "replay", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    assert "replayed 1 quarantined document(s): 0 now loaded, 1 still quarantined" in capsys.readouterr().out


def test_deletes_reach_raw_and_analytics_through_reconcile(local_env, capsys):
    seed(local_env, per_day=60, days=1)
    args = ["--start", "2026-11-20", "--end", "2026-11-22"]
    assert main(["backfill", *args, "--local-scheduler"]) == 0
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    gone = database.conversations.find_one({})
    database.conversations.delete_one({"_id": gone["_id"]})
    database.messages.delete_many({"conversation_id": gone["_id"]})
    other = database.messages.find_one({"sender": "bot", "answer_id": {"$ne": None}})
    database.messages.delete_one({"_id": other["_id"]})

    capsys.readouterr()
    assert main(["reconcile", *args]) == 0
    out = capsys.readouterr().out
    assert f"{region:<8} {'conversations':<14}" in out and "windows transformed again: none" not in out
    assert_matches_documents(local_env)
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.conversations where _id = %s",
                                  (str(gone["_id"]),)).fetchone() == (0,)
        assert connection.execute("select count(*) from raw.messages_replaced").fetchone() == (0,)  # consumed
    assert main(["reconcile", *args]) == 0  # idempotent: nothing more to delete
    assert "windows transformed again: none" in capsys.readouterr().out
    assert main(["verify", *args]) == 0


def test_a_changed_or_cleared_answer_and_a_missing_created_at_leave_no_stale_rows(local_env, capsys):
    seed(local_env, per_day=60, days=1)
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--local-scheduler"]) == 0
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    used = list(database.messages.find({"sender": "bot", "answer_id": {"$ne": None}}).limit(3))
    # Every answer of one conversation cleared: only the old versions say which day's usage to rebuild.
    database.messages.update_many({"conversation_id": used[0]["conversation_id"], "answer_id": {"$ne": None}},
                                  {"$set": {"answer_id": None, "updated_at": dt.datetime(2026, 11, 22, 8)}})
    assert main(["backfill", "--start", "2026-11-22", "--end", "2026-11-23", "--local-scheduler"]) == 0
    assert_matches_documents(local_env)

    later = dt.datetime(2026, 11, 23, 8)
    another = database.answers.find_one({"_id": {"$ne": used[1]["answer_id"]}})
    database.messages.update_one({"_id": used[1]["_id"]}, {"$set": {"answer_id": another["_id"],
                                                                    "updated_at": later}})
    database.messages.update_one({"_id": used[2]["_id"]}, {"$unset": {"created_at": ""},
                                                           "$set": {"updated_at": later}})
    conversation = database.conversations.find_one({})
    database.conversations.update_one({"_id": conversation["_id"]}, {"$unset": {"created_at": ""},
                                                                     "$set": {"updated_at": later}})
    assert main(["backfill", "--start", "2026-11-23", "--end", "2026-11-24", "--local-scheduler"]) == 0
    assert_matches_documents(local_env)  # the documented rule: no created_at -> dated by updated_at
    with local_env.warehouse() as connection:
        assert connection.execute("select started_at_estimated from analytics.conversations where "
                                  "conversation_id = %s", (str(conversation["_id"]),)).fetchone() == (True,)
    capsys.readouterr()
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-24"]) == 0
    assert "without created_at (counted on the day of their last update): 1 conversations, 1 messages" in \
        capsys.readouterr().out


def read_at_close(env) -> None:
    """Date each window's extract, load and transform at the window's end, as a sync running in real time
    would have done them (the test's `--now` is in the past, its real clock is not)."""
    with env.warehouse() as connection:
        connection.execute("update raw.load_audit set loaded_at = window_end")
        connection.execute("update analytics.transform_audit set transformed_at = window_end")
    for manifest in Path(env.storage_url).rglob("manifest.json"):
        content = json.loads(manifest.read_text())
        content["created_at"] = content["window_end"] + "+00:00"
        manifest.write_text(json.dumps(content))


def test_sync_reads_each_window_again_once_it_is_old_enough_for_backdated_writes(local_env, luigi_settings, capsys):
    luigi_settings("windows", "initial_lookback_hours", "1")
    luigi_settings("windows", "sync_minutes", "15")  # the geometry the comments below count in
    luigi_settings("windows", "lag_minutes", "5")
    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    for collection in ("conversations", "messages", "answers"):
        database[collection].create_index("updated_at")

    def conversation(updated_at: dt.datetime) -> dict:
        return {"_id": ObjectId(), "client_id": "acme", "language": "fr", "created_at": updated_at,
                "updated_at": updated_at}

    database.conversations.insert_one(conversation(dt.datetime(2026, 11, 20, 10, 5)))
    assert main(["sync", "--now", "2026-11-20T10:30", "--local-scheduler"]) == 0
    read_at_close(local_env)  # as if each window had been read right when it closed
    backdated = conversation(dt.datetime(2026, 11, 20, 10, 10))  # written after that read, dated into it
    database.conversations.insert_one(backdated)

    assert main(["sync", "--now", "2026-11-20T11:05", "--local-scheduler"]) == 0  # [10:00, 10:15) not old enough
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.conversations").fetchone() == (1,)
    assert main(["sync", "--now", "2026-11-20T11:20", "--local-scheduler"]) == 0  # now it is: read again
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.conversations where _id = %s",
                                  (str(backdated["_id"]),)).fetchone() == (1,)
        assert connection.execute("select count(*) from analytics.conversations").fetchone() == (2,)
    read_twice = "select window_start, collection, loaded_at from raw.load_audit where window_end <= '2026-11-20 10:15'"
    with local_env.warehouse() as connection:
        before = sorted(connection.execute(read_twice).fetchall())
    assert main(["sync", "--now", "2026-11-20T11:35", "--local-scheduler"]) == 0  # each window twice at most
    with local_env.warehouse() as connection:
        assert sorted(connection.execute(read_twice).fetchall()) == before


@pytest.mark.parametrize("store", ["local_env", "s3_env"])
def test_the_lake_keeps_windows_for_the_retention_days_only(request, store, luigi_settings, capsys):
    env = request.getfixturevalue(store)
    region, uri = next(iter(env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    database.messages.create_index("updated_at")
    database.messages.insert_one({"_id": ObjectId(), "conversation_id": ObjectId(), "sender": "bot", "text": "x",
                                  "created_at": AT, "updated_at": AT})
    assert main(BACKFILL_DAY) == 0
    from pipeline.storage import ObjectStore

    store_ = ObjectStore.from_config()
    assert store_.folders(f"raw/{region}/messages") == ["dt=2026-11-20"]
    luigi_settings("storage", "retention_days", "36500")
    capsys.readouterr()
    assert main(["lake", "prune"]) == 0
    assert "removed 0 day folder(s)" in capsys.readouterr().out
    luigi_settings("storage", "retention_days", "3")
    assert main(["lake", "prune", "--dry-run"]) == 0
    assert "would remove 6 day folder(s)" in capsys.readouterr().out  # 2 regions x 3 collections
    assert store_.folders(f"raw/{region}/messages") == ["dt=2026-11-20"]
    assert main(["lake", "prune"]) == 0
    assert store_.folders(f"raw/{region}/messages") == []
    with env.warehouse() as connection:  # the warehouse keeps its rows: the lake is a staging area
        assert connection.execute("select count(*) from raw.messages").fetchone() == (1,)
