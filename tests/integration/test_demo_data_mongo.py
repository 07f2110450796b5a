"""Seeds the demo data into a real (embedded) SecantusDB server.

SecantusDB is slow and does not push ``limit`` down, so everything here reads by ranges on
the indexed ``updated_at`` (or by ``_id``) and counts client-side.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from bson import Decimal128
from pymongo import MongoClient

from pipeline.catalog import catalog
from pipeline.local.demo_data import (
    DemoDataSpec,
    generate,
    seed_database,
    update_documents,
)

COLLECTIONS = tuple(catalog().sources)

pytestmark = pytest.mark.integration

START = datetime(2024, 5, 31)
SPEC = DemoDataSpec(region="eu-west-1", start=START, days=2, conversations_per_day=400, seed=7)
SMALL = DemoDataSpec(region="eu-west-1", start=START, days=1, conversations_per_day=150, seed=9)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from secantus import SecantusDBServer

    storage = tmp_path_factory.mktemp("secantus")
    with SecantusDBServer(storage_path=str(storage)) as server:
        mongo = MongoClient(server.uri)
        try:
            yield mongo
        finally:
            mongo.close()


@pytest.fixture(scope="module")
def seeded(client):
    db = client["demo_seed"]
    counts = seed_database(db, SPEC)
    return db, counts


def _ids_in_range(collection, lo: datetime, hi: datetime | None = None) -> list:
    query = {"$gte": lo} if hi is None else {"$gte": lo, "$lt": hi}
    return [d["_id"] for d in collection.find({"updated_at": query}, {"_id": 1})]


def test_seed_counts_match_range_queries(seeded):
    db, counts = seeded
    expected = {name: 0 for name in COLLECTIONS}
    for name, batch in generate(SPEC):
        expected[name] += len(batch)
    assert counts == expected
    assert counts["conversations"] == 800
    for name in COLLECTIONS:
        ids = _ids_in_range(db[name], SPEC.start, SPEC.end)
        assert len(ids) == len(set(ids)) == counts[name], name


def test_indexes_exist(seeded):
    db, _ = seeded
    for name in COLLECTIONS:
        keys = [list(ix["key"].items()) for ix in db[name].list_indexes()]
        assert [("updated_at", 1)] in keys, name
    message_keys = [list(ix["key"].items()) for ix in db["messages"].list_indexes()]
    assert [("conversation_id", 1)] in message_keys


def test_documents_round_trip(seeded):
    db, _ = seeded
    generated = {}
    for name, batch in generate(SPEC):
        for doc in batch[:20]:
            generated[(name, doc["_id"])] = doc
    for (name, _id), doc in generated.items():
        stored = db[name].find_one({"_id": _id})
        assert stored == doc, (name, _id)
    first_hours = {"$gte": SPEC.start, "$lt": SPEC.start + timedelta(hours=6)}
    stored_bot = next(iter(db.messages.find({"updated_at": first_hours, "sender": "bot"})))
    assert isinstance(stored_bot["confidence"], Decimal128)


def test_update_documents_bumps_updated_at(client):
    db = client["demo_updates"]
    counts = seed_database(db, SMALL, drop=True)
    at = SMALL.end + timedelta(hours=3, milliseconds=250)
    changed = update_documents(db, region=SMALL.region, at=at, count=40)

    assert set(changed) == set(COLLECTIONS)
    assert len(changed["conversations"]) == len(set(changed["conversations"])) == 40
    assert changed["messages"], "some conversations get a chatter reply"
    assert changed["answers"], "some answers get retitled"

    # exactly the returned ids now have updated_at == at (range query on the index)
    for name in COLLECTIONS:
        bumped = {d["_id"]: d for d in db[name].find({"updated_at": {"$gte": at}})}
        assert set(bumped) == set(changed[name]), name
        assert all(d["updated_at"] == at for d in bumped.values())

    conv_ids = set(changed["conversations"])
    for msg in db.messages.find({"_id": {"$in": changed["messages"]}}):
        assert msg["created_at"] == msg["updated_at"] == at
        assert msg["sender"] == "chatter" and msg["conversation_id"] in conv_ids
    for answer in db.answers.find({"_id": {"$in": changed["answers"]}}):
        assert " · " in answer["title"] and answer["version"] >= 2

    # nothing was lost or duplicated; only the new messages were added
    assert len(_ids_in_range(db.conversations, SMALL.start)) == counts["conversations"]
    assert len(_ids_in_range(db.messages, SMALL.start)) == counts["messages"] + len(changed["messages"])
    assert len(_ids_in_range(db.answers, SMALL.start)) == counts["answers"]

    # a later round picks conversations again from an indexed range and keeps working
    later = update_documents(db, region=SMALL.region, at=at + timedelta(hours=1), count=5)
    assert len(later["conversations"]) == 5


def test_seed_with_drop_is_repeatable(client):
    db = client["demo_reseed"]
    first = seed_database(db, SMALL, drop=True)
    second = seed_database(db, SMALL, drop=True)
    assert first == second
    assert len(_ids_in_range(db.conversations, SMALL.start, SMALL.end)) == first["conversations"]
