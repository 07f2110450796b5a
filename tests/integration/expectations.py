"""The analytics models computed straight from the MongoDB documents, to compare with the warehouse."""

from __future__ import annotations

from collections import Counter, defaultdict

from pymongo import MongoClient

from pipeline.catalog import catalog


def documents(uri: str) -> dict[str, list[dict]]:
    database = MongoClient(uri).get_default_database()
    return {name: list(database[name].find({})) for name in catalog().sources}


def day_of(document: dict):
    """The documented rule: a document without created_at is dated by its last update."""
    return (document.get("created_at") or document["updated_at"]).date()


def expected_models(docs_by_region: dict[str, dict[str, list[dict]]]) -> dict[str, set[tuple]]:
    conversations, daily, usage = set(), Counter(), Counter()
    daily_messages, daily_engaged = Counter(), Counter()
    for region, docs in docs_by_region.items():
        messages_of = defaultdict(list)
        for message in docs["messages"]:
            messages_of[message["conversation_id"]].append(message)
        titles = {answer["_id"]: answer["title"] for answer in docs["answers"]}
        language_of = {}
        for conv in docs["conversations"]:
            language_of[conv["_id"]] = conv.get("language")
            messages = messages_of[conv["_id"]]
            chatter = [m for m in messages if m["sender"] == "chatter"]
            started_date = day_of(conv)
            conversations.add((
                str(conv["_id"]), region, conv.get("client_id"), conv.get("language"), conv.get("device"),
                conv.get("platform"), (conv.get("meta") or {}).get("country"), started_date, len(messages),
                sum(m["sender"] == "bot" for m in messages), len(chatter), bool(chatter),
                min((m["created_at"] for m in chatter), default=None),
            ))
            group = (started_date, region, conv.get("client_id"), conv.get("language"), conv.get("device"),
                     conv.get("platform"))
            daily[group] += 1
            daily_engaged[group] += bool(chatter)
            daily_messages[group] += len(messages)
        for message in docs["messages"]:
            if message["sender"] == "bot" and message.get("answer_id") and message["conversation_id"] in language_of:
                usage[(day_of(message), region, message.get("client_id"),
                       language_of[message["conversation_id"]], str(message["answer_id"]),
                       titles.get(message["answer_id"]))] += 1
    return {
        "conversations": conversations,
        "daily_conversation_metrics": {(*g, n, daily_engaged[g], daily_messages[g]) for g, n in daily.items()},
        "answer_usage_daily": {(*g, n) for g, n in usage.items()},
    }


WAREHOUSE_QUERIES = {
    "conversations": "select conversation_id, region, client_id, language, device, platform, country, started_date,"
                     " message_count, bot_message_count, chatter_message_count, chatter_responded,"
                     " first_chatter_message_at from analytics.conversations",
    "daily_conversation_metrics": "select metric_date, region, client_id, language, device, platform, conversations,"
                                  " engaged_conversations, messages from analytics.daily_conversation_metrics",
    "answer_usage_daily": "select metric_date, region, client_id, language, answer_id, answer_title, times_shown"
                          " from analytics.answer_usage_daily",
}


def warehouse_models(connection) -> dict[str, set[tuple]]:
    result = {}
    for name, query in WAREHOUSE_QUERIES.items():
        rows = connection.execute(query).fetchall()
        assert len(rows) == len(set(rows)), f"analytics.{name} has duplicate rows"
        result[name] = set(rows)
    return result
