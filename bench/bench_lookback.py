"""Benchmark: what sync's second read of each window (`[windows] backdated_lookback_minutes`) costs.

Run it with the virtualenv's python: `python bench/bench_lookback.py [--docs-per-day N] [--syncs N]`.
Nothing outside a temporary directory is touched.

What it does, in one run:

1. Starts the embedded services (`pipeline.local.services.local_stack`) under a temp dir and seeds one UTC
   day of demo data at --docs-per-day (default 200k) into one region.
2. Twice, into two fresh warehouse databases and object stores, with backdated_lookback_minutes 0 and then
   60: a first sync at 06:05 that reads the windows since 05:00 (not timed), then --syncs (default 8) syncs
   every 15 minutes of simulated time (07:05, 07:20, ...), each a `pipeline sync --now T` process, timed
   end to end. Between syncs every load is stamped as done right when its window closed, as a sync running
   on time would have done it: so with a look-back each sync also reads again the window that has just
   become 60 minutes old; without, it reads only the new one.
3. Prints both totals, the windows each read, and the ratio (look-back / none). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backfill import REPO, conversations_for, create_database  # noqa: E402

REGION = "us"
DAY = dt.datetime(2026, 1, 5)


def seed(mongo_uri: str, docs_per_day: int) -> None:
    import pymongo

    from pipeline.local.demo_data import DemoDataSpec, seed_database

    spec = DemoDataSpec(region=REGION, start=DAY, days=1, conversations_per_day=conversations_for(docs_per_day))
    with pymongo.MongoClient(mongo_uri) as client:
        seed_database(client.get_default_database(), spec, drop=True)


def sync(env: dict[str, str], now: dt.datetime) -> float:
    command = [sys.executable, "-m", "pipeline.cli", "sync", "--now", f"{now:%Y-%m-%dT%H:%M}",
               "--local-scheduler", "--workers", "2"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"sync --now {now} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def stamp_reads(postgres_url: str, lake: Path, seen: set) -> int:
    """Date what the last sync did (extracts, loads, transforms) as a sync running in real time would have done
    it: a window's first read right when it closed, a second read a day later (past the look-back, so final).
    Return how many message windows the last sync read."""
    import psycopg

    just_now = DAY + dt.timedelta(days=2)  # anything later is a real time: done by the last sync
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        fresh = connection.execute("select collection, window_start from raw.load_audit where loaded_at > %s",
                                   (just_now,)).fetchall()
        second = {(collection, start) for collection, start in fresh if (collection, start) in seen}
        seen.update(fresh)
        for collection, start in fresh:
            late = dt.timedelta(days=1 if (collection, start) in second else 0)
            connection.execute("update raw.load_audit set loaded_at = window_end + %s where collection = %s "
                               "and window_start = %s", (late, collection, start))
        for start in {start for _, start in fresh}:
            late = dt.timedelta(days=1 if any(window == start for _, window in second) else 0)
            connection.execute("update analytics.transform_audit set transformed_at = window_end + %s "
                               "where window_start = %s and transformed_at > %s", (late, start, just_now))
    for manifest in lake.rglob("manifest.json"):
        content = json.loads(manifest.read_text())
        created = dt.datetime.fromisoformat(content["created_at"]).replace(tzinfo=None)
        if created > just_now:
            window_end = dt.datetime.fromisoformat(content["window_end"])
            late = (content["collection"], dt.datetime.fromisoformat(content["window_start"])) in second
            content["created_at"] = (window_end + dt.timedelta(days=1 if late else 0)).isoformat() + "+00:00"
            manifest.write_text(json.dumps(content))
    return sum(collection == "messages" for collection, _ in fresh)


def run(label: str, lookback: int, mongo_uri: str, postgres_url: str, root: Path, syncs: int) -> tuple[float, int]:
    config = root / f"{label}.cfg"
    config.write_text(f"[windows]\ninitial_lookback_hours = 1\nbackdated_lookback_minutes = {lookback}\n")
    env = {"PIPELINE_SOURCES": f"{REGION}={mongo_uri}", "PIPELINE_WAREHOUSE_URL": postgres_url,
           "PIPELINE_STORAGE_URL": str(root / f"lake-{label}"),
           "LUIGI_CONFIG_PATH": str(config)}
    now = DAY + dt.timedelta(hours=6, minutes=5)
    seen: set = set()
    sync(env, now)  # the first hour of windows, not timed
    stamp_reads(postgres_url, root / f"lake-{label}", seen)
    total, reads = 0.0, 0
    for _ in range(syncs):
        now += dt.timedelta(minutes=15)
        total += sync(env, now)
        reads += stamp_reads(postgres_url, root / f"lake-{label}", seen)
    return total, reads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs-per-day", type=int, default=200_000)
    parser.add_argument("--syncs", type=int, default=8)
    args = parser.parse_args(argv)
    from pipeline.local.services import local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-lookback-"))
    with local_stack(root, regions=(REGION,)) as stack:
        os.environ.update(stack.env())
        mongo = stack.mongo_uris[REGION]
        started = time.perf_counter()
        seed(mongo, args.docs_per_day)
        print(f"seeded {args.docs_per_day} docs/day ({args.docs_per_day // 96} per 15 minutes) in "
              f"{time.perf_counter() - started:.1f} s")
        figures = {}
        for label, lookback in (("none", 0), ("lookback", 60)):
            url = create_database(stack.postgres_url, f"lookback_{label}")
            figures[label] = run(label, lookback, mongo, url, root, args.syncs)
            seconds, windows = figures[label]
            print(f"{label:<9} backdated_lookback_minutes={lookback:<3} {args.syncs} syncs: {seconds:.1f} s, "
                  f"{windows} window reads (messages)")
        (plain, plain_reads), (looked, looked_reads) = figures["none"], figures["lookback"]
        print(f"ratio look-back / none: time {looked / plain:.2f}, "
              f"window reads {looked_reads / max(plain_reads, 1):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
