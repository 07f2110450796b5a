"""Unit tests of the demo data generator (pure, no database)."""

from __future__ import annotations

import collections
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from bson import Decimal128, ObjectId

from pipeline.catalog import catalog
from pipeline.local.demo_data import BATCH_SIZE, DemoDataSpec, generate

COLLECTIONS = tuple(catalog().sources)

START = datetime(2024, 3, 30)  # spans the EU DST switch and a month end
SPEC = DemoDataSpec(region="eu-west-1", start=START, days=2, conversations_per_day=2000, seed=7)
BASE_FIELDS = {
    "_id", "client_id", "chatter_id", "language", "device", "platform",
    "created_at", "updated_at", "meta", "variables",
}  # fmt: skip
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
EMOJI = re.compile(r"[\U0001F300-\U0001FAFF]")


def _collect(spec: DemoDataSpec) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {name: [] for name in COLLECTIONS}
    for name, batch in generate(spec):
        out[name].extend(batch)
    return out


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict]]:
    return _collect(SPEC)


@pytest.fixture(scope="module")
def answers_by_id(data):
    return {a["_id"]: a for a in data["answers"]}


@pytest.fixture(scope="module")
def conversations_by_id(data):
    return {c["_id"]: c for c in data["conversations"]}


@pytest.fixture(scope="module")
def messages_by_conversation(data):
    grouped = collections.defaultdict(list)
    for m in data["messages"]:
        grouped[m["conversation_id"]].append(m)
    return grouped


def _walk_datetimes(value, path=""):
    if isinstance(value, datetime):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_datetimes(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_datetimes(v, f"{path}[{i}]")


# ---------------------------------------------------------------------------- shape / API


def test_the_generator_writes_every_declared_source():
    spec = DemoDataSpec(region="us", start=datetime(2026, 11, 20), days=1, conversations_per_day=20, seed=1)
    assert {name for name, _ in generate(spec)} == set(COLLECTIONS)


def test_batches_are_bounded_and_ordered():
    spec = DemoDataSpec(region="eu", start=START, days=2, conversations_per_day=6000, seed=3)
    names, sizes = [], []
    for name, batch in generate(spec):
        assert 0 < len(batch) <= BATCH_SIZE
        names.append(name)
        sizes.append(len(batch))
    # answers first, then per day: conversations then messages
    collapsed = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
    assert collapsed == ["answers", "conversations", "messages", "conversations", "messages"]
    assert names.count("conversations") == 4  # 6000 per day -> 5000 + 1000
    conv_sizes = [s for n, s in zip(names, sizes) if n == "conversations"]
    assert conv_sizes == [5000, 1000, 5000, 1000]


def test_batches_by_day(data):
    days = collections.Counter(c["created_at"].date() for c in data["conversations"])
    assert days == {START.date(): 2000, (START + timedelta(days=1)).date(): 2000}


def test_generate_is_lazy_and_pure():
    gen = generate(SPEC)
    name, batch = next(gen)
    assert name == "answers" and batch
    gen.close()


def test_zero_conversations_yields_only_answers():
    out = _collect(DemoDataSpec(region="eu", start=START, days=1, conversations_per_day=0))
    assert out["answers"] and not out["conversations"] and not out["messages"]


def test_spec_validation_and_normalisation():
    with pytest.raises(ValueError):
        DemoDataSpec(region="eu", start=START, days=0)
    with pytest.raises(ValueError):
        DemoDataSpec(region="eu", start=START, conversations_per_day=-1)
    aware = DemoDataSpec(region="eu", start=datetime(2024, 3, 30, 1, tzinfo=timezone(timedelta(hours=1))))
    assert aware.start == START and aware.start.tzinfo is None
    assert SPEC.end == START + timedelta(days=3)


# ---------------------------------------------------------------------------- determinism


def test_deterministic_for_a_spec(data):
    again = _collect(SPEC)
    assert again == data
    assert [a["_id"] for a in again["answers"]] == [a["_id"] for a in data["answers"]]


def test_different_seed_or_region_changes_data(data):
    other_seed = _collect(DemoDataSpec(region="eu-west-1", start=START, days=1, conversations_per_day=50,
                                       seed=8))
    other_region = _collect(DemoDataSpec(region="us-east-1", start=START, days=1, conversations_per_day=50))
    ids = {d["_id"] for docs in data.values() for d in docs}
    for other in (other_seed, other_region):
        other_ids = {d["_id"] for docs in other.values() for d in docs}
        assert not ids & other_ids


def test_ids_are_unique_objectids_matching_timestamps(data):
    all_docs = [d for docs in data.values() for d in docs]
    ids = [d["_id"] for d in all_docs]
    assert all(isinstance(i, ObjectId) for i in ids)
    assert len(set(ids)) == len(ids)
    for d in all_docs:
        assert d["_id"].generation_time.replace(tzinfo=None) == d["created_at"].replace(microsecond=0)


# ---------------------------------------------------------------------------- integrity


def test_messages_reference_conversations_of_the_same_client(data, conversations_by_id):
    for m in data["messages"]:
        conv = conversations_by_id.get(m["conversation_id"])
        assert conv is not None, m
        assert m["client_id"] == conv["client_id"]
        assert m["created_at"] >= conv["created_at"]


def test_every_conversation_starts_with_a_bot_greeting(data, messages_by_conversation):
    for conv in data["conversations"]:
        msgs = messages_by_conversation[conv["_id"]]
        assert msgs, conv
        assert msgs[0]["sender"] == "bot" and msgs[0]["answer_id"] is None
        assert [m["created_at"] for m in msgs] == sorted(m["created_at"] for m in msgs)
        # conversation updated_at = time of its last message, within minutes of its start
        assert conv["updated_at"] == max(m["created_at"] for m in msgs)
        assert conv["updated_at"] - conv["created_at"] < timedelta(minutes=30)


def test_answer_ids_reference_answers_of_same_client_and_language(data, answers_by_id, conversations_by_id):
    used = 0
    for m in data["messages"]:
        if m["answer_id"] is None:
            continue
        used += 1
        assert m["sender"] == "bot"
        answer = answers_by_id[m["answer_id"]]
        conv = conversations_by_id[m["conversation_id"]]
        assert answer["client_id"] == m["client_id"] == conv["client_id"]
        assert answer["language"] == conv["language"]
        assert answer["active"] is True
        assert answer["created_at"] <= m["created_at"]
    assert used > 1000


def test_confidence_is_decimal128_on_bot_messages_only(data):
    for m in data["messages"]:
        if m["sender"] == "bot":
            assert isinstance(m["confidence"], Decimal128)
            value = m["confidence"].to_decimal()
            assert Decimal(0) <= value <= Decimal(1)
            assert -value.as_tuple().exponent <= 4
        else:
            assert m["confidence"] is None
            assert m["answer_id"] is None
    senders = collections.Counter(m["sender"] for m in data["messages"])
    assert set(senders) == {"bot", "chatter", "agent"}


def test_updated_at_not_before_created_at(data):
    for name, docs in data.items():
        for d in docs:
            assert d["updated_at"] >= d["created_at"], (name, d["_id"])
    assert any(a["updated_at"] > a["created_at"] for a in data["answers"])
    assert any(m["updated_at"] > m["created_at"] for m in data["messages"])
    assert all(m["updated_at"] == m["created_at"] for m in data["messages"][:50] if m["sender"] == "bot")


def test_datetimes_naive_ms_precision_and_within_window(data):
    lo, hi = SPEC.start, SPEC.start + timedelta(days=SPEC.days + 1)
    seen = 0
    for name, docs in data.items():
        for d in docs:
            for path, value in _walk_datetimes(d):
                seen += 1
                assert value.tzinfo is None, (name, path)
                assert value.microsecond % 1000 == 0, (name, path, value)
                assert lo <= value < hi, (name, path, value)
    assert seen == 2 * sum(len(docs) for docs in data.values())  # created_at + updated_at


def test_some_conversations_cross_midnight():
    # with enough conversations, late-night ones have messages after midnight
    spec = DemoDataSpec(region="us-east-1", start=START, days=1, conversations_per_day=5000, seed=5)
    out = _collect(spec)
    assert any(m["created_at"] >= START + timedelta(days=1) for m in out["messages"])


def test_answers_per_client_and_language(data):
    per_key = collections.Counter((a["client_id"], a["language"]) for a in data["answers"])
    assert len(per_key) >= 10
    assert all(20 <= n <= 60 for n in per_key.values())
    titles = collections.defaultdict(set)
    for a in data["answers"]:
        titles[(a["client_id"], a["language"])].add(a["title"])
        assert isinstance(a["content"], str) and len(a["content"]) > len(a["title"])
        assert isinstance(a["version"], int) and a["version"] >= 1
        assert isinstance(a["active"], bool)
    assert {k: len(v) for k, v in titles.items()} == dict(per_key)
    assert any(a["title"] == "Réinitialiser mon mot de passe" for a in data["answers"])


# ---------------------------------------------------------------------------- distributions


def test_chatter_share(data, messages_by_conversation):
    with_chatter = sum(
        any(m["sender"] == "chatter" for m in messages_by_conversation[c["_id"]])
        for c in data["conversations"]
    )
    share = with_chatter / len(data["conversations"])
    assert 0.2 <= share <= 0.4
    bot_only = [c for c in data["conversations"]
                if all(m["sender"] == "bot" for m in messages_by_conversation[c["_id"]])]
    assert all(len(messages_by_conversation[c["_id"]]) <= 3 for c in bot_only)
    assert any(m["sender"] == "agent" for m in data["messages"])


def test_messages_about_three_per_conversation(data):
    ratio = len(data["messages"]) / len(data["conversations"])
    assert 2.5 <= ratio <= 3.5


def test_device_language_client_skew(data):
    convs = data["conversations"]
    devices = collections.Counter(c["device"] for c in convs)
    assert devices.most_common(1)[0][0] == "mobile"
    assert set(devices) == {"mobile", "desktop", "tablet"}
    assert 0.5 <= devices["mobile"] / len(convs) <= 0.7
    languages = collections.Counter(c["language"] for c in convs)
    assert [lang for lang, _ in languages.most_common(2)] == ["en", "fr"]
    assert 0.35 <= languages["en"] / len(convs) <= 0.55
    assert set(languages) == {"en", "fr", "de", "es", "it", "pt", "nl", "ja"}
    clients = collections.Counter(c["client_id"] for c in convs)
    assert len(clients) == 5
    counts = sorted(clients.values(), reverse=True)
    assert counts[0] > 2 * counts[-1]


def test_platform_correlates_with_device(data):
    for c in data["conversations"]:
        if c["platform"] in ("ios", "android"):
            assert c["device"] in ("mobile", "tablet")
        if c["platform"] == "whatsapp":
            assert c["device"] == "mobile"
        if c["platform"] != "web":
            assert c["meta"]["referrer"] is None
    platforms = {c["platform"] for c in data["conversations"]}
    assert platforms == {"web", "ios", "android", "messenger", "whatsapp"}


def test_country_correlates_with_language(data):
    for c in data["conversations"]:
        country = c["meta"]["country"]
        assert isinstance(country, str) and len(country) == 2 and country.isupper()
        if c["language"] == "ja":
            assert country == "JP"
        if c["language"] == "de":
            assert country in {"DE", "AT", "CH"}


def test_answer_popularity_is_skewed(data):
    usage = collections.Counter(m["answer_id"] for m in data["messages"] if m["answer_id"] is not None)
    top = usage.most_common()
    assert top[0][1] > 10 * top[len(top) // 2][1]


def test_meta_and_variables_shapes(data):
    convs = data["conversations"]
    for c in convs:
        assert set(c["meta"]) == {"country", "browser", "referrer", "app_version"}
        assert isinstance(c["variables"], dict)
        assert c["chatter_id"].startswith("ch_")
    key_sets = {frozenset(c["variables"]) for c in convs}
    assert len(key_sets) > 20
    assert any(isinstance(v, dict) for c in convs for v in c["variables"].values())
    assert any(isinstance(v, list) for c in convs for v in c["variables"].values())
    assert any(c["meta"]["referrer"] and c["meta"]["referrer"].startswith("https://") for c in convs)
    # returning chatters
    assert len({c["chatter_id"] for c in convs}) < len(convs)


def test_extra_top_level_fields(data):
    extra = [c for c in data["conversations"] if set(c) - BASE_FIELDS]
    assert 0.005 <= len(extra) / len(data["conversations"]) <= 0.06
    assert all(set(c) >= BASE_FIELDS for c in data["conversations"])
    extra_keys = {k for c in extra for k in set(c) - BASE_FIELDS}
    assert len(extra_keys) >= 2


def test_unicode_text(data):
    texts = [m["text"] for m in data["messages"]] + [a["title"] for a in data["answers"]]
    assert all(isinstance(t, str) and t for t in texts)
    assert any(CJK.search(t) for t in texts)
    assert any(EMOJI.search(t) for t in texts)
    assert any(ch in t for t in texts for ch in "éèàüöäñçã")
    ja_convs = {c["_id"] for c in data["conversations"] if c["language"] == "ja"}
    ja_texts = [m["text"] for m in data["messages"]
                if m["conversation_id"] in ja_convs and m["sender"] != "agent"]
    assert ja_texts and all(CJK.search(t) for t in ja_texts)
