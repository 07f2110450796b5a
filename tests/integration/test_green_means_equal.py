"""A green run and a green verify mean the warehouse holds the source's current documents: key types, cursors
that move backwards, and what verify names (issue 19)."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId
from pymongo import MongoClient

from pipeline.cli import main

pytestmark = pytest.mark.integration

DAY = dt.datetime(2026, 11, 20)
ARGS = ["--start", "2026-11-20", "--end", "2026-11-21"]


def database(env):
    region, uri = next(iter(env.mongo_uris.items()))
    db = MongoClient(uri).get_default_database()
    for name in ("conversations", "messages", "answers"):
        db[name].create_index("updated_at")
    return region, db


def conversation(**fields):
    return {"_id": ObjectId(), "client_id": "acme", "language": "en", "device": "mobile", "platform": "web",
            "created_at": DAY + dt.timedelta(hours=9), "updated_at": DAY + dt.timedelta(hours=10), **fields}


def test_an_objectid_and_strings_of_its_hex_are_three_documents(local_env, capsys):
    region, db = database(local_env)
    oid = ObjectId()
    at = DAY + dt.timedelta(hours=1)
    db.messages.insert_many([
        {"_id": oid, "sender": "bot", "text": "objectid", "updated_at": at},
        {"_id": str(oid), "sender": "bot", "text": "string", "updated_at": at},
        {"_id": str(oid).upper(), "sender": "bot", "text": "upper", "updated_at": at},
    ])
    assert main(["backfill", *ARGS, "--local-scheduler"]) == 0
    with local_env.warehouse() as connection:
        rows = dict(connection.execute("select _id, text from raw.messages").fetchall())
        kept = connection.execute("select kept_newer from raw.load_audit where collection = 'messages'").fetchone()
    assert rows == {str(oid): "objectid", f"str:{oid}": "string", f"str:{str(oid).upper()}": "upper"}
    assert kept == (0,)
    assert main(["reconcile", *ARGS]) == 0  # each looked up as what it is: none is taken for deleted
    assert main(["verify", *ARGS]) == 0
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.messages").fetchone() == (3,)


def test_a_cursor_moved_backwards_is_named_by_verify_and_loaded_by_its_repair(local_env, capsys):
    region, db = database(local_env)
    earlier = conversation()
    recreated = conversation()
    db.conversations.insert_many([earlier, recreated])
    assert main(["backfill", *ARGS, "--local-scheduler"]) == 0

    # One hour earlier than the loaded version, same window; and deleted, then created again with an older one.
    db.conversations.update_one({"_id": earlier["_id"]}, {"$set": {
        "language": "fr", "updated_at": earlier["updated_at"] - dt.timedelta(hours=1)}})
    db.conversations.delete_one({"_id": recreated["_id"]})
    db.conversations.insert_one({**recreated, "language": "de", "updated_at": DAY + dt.timedelta(hours=2)})
    capsys.readouterr()
    assert main(["verify", *ARGS]) == 1  # the counts are equal: only the cursors tell
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if " conversations " in line)
    assert "2 stale, loaded with another updated_at" in line and str(earlier["_id"]) in line
    assert line.endswith("pipeline backfill --rerun --start '2026-11-20 00:00' --end '2026-11-21 00:00'")

    assert main(["backfill", "--rerun", *ARGS, "--local-scheduler"]) == 0  # the repair verify named
    with local_env.warehouse() as connection:
        languages = dict(connection.execute("select _id, language from raw.conversations").fetchall())
        analytics = dict(connection.execute("select conversation_id, language from analytics.conversations"))
    assert languages == {str(earlier["_id"]): "fr", str(recreated["_id"]): "de"} == analytics
    assert main(["verify", *ARGS]) == 0


def test_a_document_moved_to_an_earlier_window_is_loaded_there(local_env, capsys):
    region, db = database(local_env)
    moving = conversation()
    db.conversations.insert_one(moving)
    args = ["--start", "2026-11-19", "--end", "2026-11-21"]
    assert main(["backfill", *args, "--local-scheduler"]) == 0
    db.conversations.update_one({"_id": moving["_id"]}, {"$set": {
        "language": "fr", "updated_at": DAY - dt.timedelta(hours=3)}})
    capsys.readouterr()
    assert main(["verify", *args]) == 1
    out = capsys.readouterr().out
    assert f"1 missing ({moving['_id']}): pipeline backfill --rerun --start '2026-11-19 00:00'" in out
    assert "moved to [2026-11-19 00:00, 2026-11-20 00:00): pipeline backfill --rerun --start '2026-11-19 00:00'" in out
    assert main(["backfill", "--rerun", "--start", "2026-11-19", "--end", "2026-11-20", "--local-scheduler"]) == 0
    with local_env.warehouse() as connection:
        assert connection.execute("select language from raw.conversations").fetchall() == [("fr",)]
    assert main(["verify", *args]) == 0
