"""Benchmark: how long until a document written at time T shows in analytics.*, with sync every minute?

Run it with the virtualenv's python: `python bench/bench_freshness.py [--minutes N] [--docs-per-hour N]`.
Nothing outside a temporary directory is touched. Nothing is asserted: it prints figures.

Time is simulated, the work is real. Documents (conversations with their messages) are written to MongoDB
with `updated_at` spread uniformly over --minutes (default 60) of simulated time. Then `pipeline sync --now
t` runs once per simulated minute, each a real process against the real services, one after the other. A
sync reads only windows closed `lag` before its `now`, so a document is invisible to it until its window
has closed, exactly as if it had been written at its `updated_at`. After each sync the conversations
visible in analytics.conversations are checked; a document's latency is the sync's `now` minus its
`updated_at`, plus that sync's own run time (when it would have committed). Run once per setting pair
(window minutes, lag minutes): the defaults of luigi.cfg, then each --try pair (default 15/5 and 5/2).
Prints p50, p95 and max latency per setting, and the CPU seconds (user + system) the sync processes used per
simulated hour (the services' own CPU is not counted). `--docs-per-hour 13900` writes about 1M documents a
day (a conversation and two messages each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bson import ObjectId

REPO = Path(__file__).resolve().parents[1]
REGION = "us"
START = dt.datetime(2026, 1, 5, 9)


def write_documents(database, minutes: int, per_hour: int, seed: int = 7) -> dict[str, dt.datetime]:
    """Conversations (and two messages each) with updated_at uniform over [START, START + minutes)."""
    rng = random.Random(seed)
    written, conversations, messages = {}, [], []
    for _ in range(per_hour * minutes // 60):
        at = START + dt.timedelta(seconds=rng.uniform(0, minutes * 60))
        cid = ObjectId()
        conversations.append({"_id": cid, "client_id": "acme", "language": "fr", "device": "mobile",
                              "platform": "web", "created_at": at, "updated_at": at})
        messages += [{"_id": ObjectId(), "conversation_id": cid, "client_id": "acme", "sender": sender,
                      "text": "hi", "created_at": at, "updated_at": at} for sender in ("chatter", "bot")]
        written[str(cid)] = at
    for name in ("conversations", "messages", "answers"):
        database[name].create_index("updated_at")
    database.conversations.insert_many(conversations)
    database.messages.insert_many(messages)
    return written


def measure(env: dict[str, str], postgres_url: str, written: dict[str, dt.datetime], minutes: int,
            window: int, lag: int, root: Path) -> tuple[list[float], float]:
    """The latencies (seconds), and the CPU seconds the syncs used per simulated hour."""
    import resource

    import psycopg

    config = root / f"freshness-{window}-{lag}.cfg"
    config.write_text(f"[windows]\nsync_minutes = {window}\nlag_minutes = {lag}\ninitial_lookback_hours = 1\n"
                      f"backdated_lookback_minutes = 0\n")
    latencies, seen = [], set()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    steps = minutes + window + lag + 1
    for step in range(1, steps + 1):
        now = START + dt.timedelta(minutes=step)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline.cli", "sync", "--now", f"{now:%Y-%m-%dT%H:%M}",
                        "--local-scheduler", "--workers", "2"], cwd=REPO, check=True, capture_output=True,
                       env={**os.environ, **env, "LUIGI_CONFIG_PATH": str(config)})
        took = time.perf_counter() - started
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            visible = {row[0] for row in connection.execute("select conversation_id from analytics.conversations")}
        for conversation in visible - seen:
            if conversation in written:
                latencies.append((now - written[conversation]).total_seconds() + took)
        seen |= visible
    missing = len(written) - len(latencies)
    if missing:
        print(f"  note: {missing} documents never became visible")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return latencies, cpu * 60 / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--docs-per-hour", type=int, default=6000)
    parser.add_argument("--try", dest="pairs", action="append", default=[],
                        help="window/lag minutes to measure, e.g. 5/2 (repeatable; default 15/5 and 5/2)")
    args = parser.parse_args(argv)
    from pipeline.config import WindowSettings
    from pipeline.local.services import local_stack

    pairs = [(WindowSettings().sync_minutes, WindowSettings().lag_minutes)]
    for text in args.pairs or ["15/5", "5/2"]:
        window, lag = (int(part) for part in text.split("/"))
        if (window, lag) not in pairs:
            pairs.append((window, lag))
    root = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    with local_stack(root, regions=(REGION,)) as stack:
        os.environ.update(stack.env())
        import psycopg
        import pymongo

        with pymongo.MongoClient(stack.mongo_uris[REGION]) as client:
            written = write_documents(client.get_default_database(), args.minutes, args.docs_per_hour)
        print(f"{len(written)} conversations (+2 messages each) over {args.minutes} simulated minutes; "
              f"sync every simulated minute; defaults in luigi.cfg: window {pairs[0][0]} min, lag {pairs[0][1]} min")
        for window, lag in pairs:
            database = f"fresh_{window}_{lag}"
            with psycopg.connect(stack.postgres_url, autocommit=True) as admin:
                admin.execute(f'drop database if exists "{database}"')
                admin.execute(f'create database "{database}"')
            url = urlunsplit(urlsplit(stack.postgres_url)._replace(path=f"/{database}"))
            env = {"PIPELINE_SOURCES": f"{REGION}={stack.mongo_uris[REGION]}", "PIPELINE_WAREHOUSE_URL": url,
                   "PIPELINE_STORAGE_URL": str(root / f"lake-{window}-{lag}")}
            latencies, cpu_per_hour = measure(env, url, written, args.minutes, window, lag, root)
            latencies.sort()
            if latencies:
                p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
                print(f"window {window:>2} min, lag {lag} min: p50 {statistics.median(latencies) / 60:5.1f} min  "
                      f"p95 {p95 / 60:5.1f} min  max {latencies[-1] / 60:5.1f} min  "
                      f"({'meets' if p95 <= 240 else 'misses'} p95 <= 4 min); the sync processes' CPU: "
                      f"{cpu_per_hour:.0f} s per simulated hour at {args.docs_per_hour * 3:,} documents an hour")
    return 0


if __name__ == "__main__":
    sys.exit(main())
