"""Subscriptions: exports made in the console, kept in its database as entries shaped like those of
exports.yml, so that one parser validates both and the same tasks run both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline import statedb
from pipeline.statedb import StateDB, state_db


@dataclass(frozen=True)
class Subscription:
    name: str
    entry: dict[str, Any]  # as an exports.yml entry: template, params, format, schedule, recipients, ...
    owner: str
    created_at: str
    updated_at: str


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(row["name"], json.loads(row["entry"]), row["owner"], row["created_at"], row["updated_at"])


def all_subscriptions() -> list[Subscription]:
    """Every subscription; none when the console's SQLite database was never created."""
    if not statedb.exists():
        return []
    with state_db(write=False) as db:
        return [_subscription(row) for row in db.query_file("subscriptions.sql")]


def get(db: StateDB, name: str) -> Subscription | None:
    rows = db.query_file("subscription.sql", {"name": name})
    return _subscription(rows[0]) if rows else None


def insert(db: StateDB, entry: dict[str, Any], owner: str, now: str) -> None:
    db.run_file("insert_subscription.sql", {"name": entry["name"], "entry": json.dumps(entry, default=str),
                                            "owner": owner, "now": now})


def update(db: StateDB, entry: dict[str, Any], now: str) -> None:
    db.run_file("update_subscription.sql", {"name": entry["name"], "entry": json.dumps(entry, default=str),
                                            "now": now})
