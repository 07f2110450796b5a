"""Runs killed at random moments, and the warehouse compared with the source document by document: shared by
the suite's chaos test and bench/bench_chaos.py (the longer soak)."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from pymongo import MongoClient

from pipeline.catalog import catalog
from pipeline.convert import key_cell

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pipeline_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def run_killed(command: list[str], env: dict[str, str], after: float) -> bool:
    """Start the command in its own process group and SIGKILL the whole group `after` seconds in (as a pod is
    killed: the forked workers too). True when it was still running then."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        process.wait(after)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        return True


def run(command: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def source_state(uris: dict[str, str], start: dt.datetime, end: dt.datetime) -> dict[tuple, dt.datetime]:
    """{(collection, region, key as the warehouse stores it): cursor} of the documents whose cursor lies in
    [start, end)."""
    state = {}
    for region, uri in uris.items():
        with MongoClient(uri) as client:
            database = client.get_default_database()
            for source in catalog().sources.values():
                kind = source.key_column.type
                for document in database[source.name].find({source.cursor: {"$gte": start, "$lt": end}},
                                                           {source.key: 1, source.cursor: 1}):
                    state[(source.name, region, key_cell(kind, document[source.key]))] = document[source.cursor]
    return state


def warehouse_state(connection, start: dt.datetime, end: dt.datetime) -> tuple[dict[tuple, dt.datetime], int]:
    """The same from the raw tables, and how many rows share a (region, key) with another."""
    state, duplicated = {}, 0
    for source in catalog().sources.values():
        rows = connection.execute(
            f'select region, "{source.key}", "{source.cursor}" from {source.table} '
            f'where "{source.cursor}" >= %s and "{source.cursor}" < %s', (start, end)).fetchall()
        for region, key, cursor in rows:
            duplicated += (source.name, region, key) in state
            state[(source.name, region, key)] = cursor
    return state, duplicated


@dataclass
class Differences:
    lost: list[tuple] = field(default_factory=list)  # in the source, not in the warehouse
    stale: list[tuple] = field(default_factory=list)  # loaded with another cursor
    extra: list[tuple] = field(default_factory=list)  # in the warehouse, not in the source
    duplicated: int = 0

    @property
    def none(self) -> bool:
        return not (self.lost or self.stale or self.extra or self.duplicated)

    def __str__(self) -> str:
        return (f"lost {len(self.lost)} {self.lost[:3]}, stale {len(self.stale)} {self.stale[:3]}, extra "
                f"{len(self.extra)} {self.extra[:3]}, duplicated {self.duplicated}")


def compare(uris: dict[str, str], connection, start: dt.datetime, end: dt.datetime) -> Differences:
    source = source_state(uris, start, end)
    loaded, duplicated = warehouse_state(connection, start, end)
    return Differences(
        lost=sorted(key for key in source if key not in loaded),
        stale=sorted(key for key in source if key in loaded and loaded[key] != source[key]),
        extra=sorted(key for key in loaded if key not in source),
        duplicated=duplicated,
    )


def change_documents(uris: dict[str, str], start: dt.datetime, end: dt.datetime, rng: random.Random,
                     count: int) -> int:
    """Update `count` conversations and messages per region in [start, end) to a new cursor inside the range:
    later for most, earlier for a third (a cursor that moves backwards). Returns how many changed."""
    changed = 0
    span = (end - start).total_seconds()
    for uri in uris.values():
        with MongoClient(uri) as client:
            database = client.get_default_database()
            for collection in ("conversations", "messages"):
                documents = list(database[collection].find({"updated_at": {"$gte": start, "$lt": end}},
                                                           {"_id": 1, "updated_at": 1}))
                for document in rng.sample(documents, min(count, len(documents))):
                    moment = start + dt.timedelta(seconds=rng.uniform(0, span - 1))
                    moment = moment.replace(microsecond=(moment.microsecond // 1000) * 1000)
                    database[collection].update_one({"_id": document["_id"]}, {"$set": {
                        "updated_at": moment, "chaos_mark": rng.random()}})
                    changed += 1
    return changed


@dataclass
class Trial:
    """One killed run and its repeat: whether the kill landed mid-run, and the repeat's exit code."""

    command: list[str]
    killed_after: float
    killed: bool
    repeat_code: int
    repeat_seconds: float


def killed_then_repeated(command: list[str], env: dict[str, str], rng: random.Random, longest: float) -> Trial:
    """Kill the command at a random moment in its first `longest` seconds, then run it again to its end."""
    after = rng.uniform(0.3, longest)
    killed = run_killed(command, env, after)
    started = time.monotonic()
    repeated = run(command, env)
    if repeated.returncode:
        sys.stderr.write(repeated.stdout[-3000:] + repeated.stderr[-3000:])
    return Trial(command, after, killed, repeated.returncode, time.monotonic() - started)
