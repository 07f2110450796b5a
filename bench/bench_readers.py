"""Benchmark: do dashboard queries wait while the pipeline writes?

Run it with the virtualenv's python: `python bench/bench_readers.py [--docs N] [--seconds S]`.
Nothing outside a temporary directory is touched. Nothing is asserted: it prints figures.

What it does, in one run:

1. Starts the embedded services (`pipeline.local.services.local_stack`), seeds one UTC day of demo data
   (--docs, default 100k) into one region and backfills it, so the analytics tables hold that day.
2. Idle: for --seconds (default 10), dashboard-style queries in a loop, one after the other, on a separate
   connection: conversations per day since a date for one client, engaged conversations by language on
   mobile, answers shown per day for one language (aggregations by date with filters on client, language,
   device). Each latency is recorded.
3. Busy: the same loop while `pipeline backfill --rerun` of that day runs (re-extract, merge, transform: the
   writes a sync makes), until it ends.
4. Prints p50, p99 and max for both, and their ratios (busy / idle).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGION = "us"
DAY = dt.datetime(2026, 1, 5)
QUERIES = (
    """select started_date, count(*) from analytics.conversations
       where client_id = %(client)s and started_date >= %(since)s group by started_date order by started_date""",
    """select metric_date, "language", sum(engaged_conversations), sum(conversations)
       from analytics.daily_conversation_metrics where device = 'mobile' and metric_date >= %(since)s
       group by metric_date, "language" order by 1, 2""",
    """select metric_date, sum(times_shown) from analytics.answer_usage_daily
       where "language" = 'fr' and metric_date >= %(since)s group by metric_date order by metric_date""",
)


def dashboard_loop(url: str, stop: threading.Event, latencies: list[float]) -> None:
    import psycopg

    params = {"client": "acme", "since": DAY.date() - dt.timedelta(days=30)}
    with psycopg.connect(url, autocommit=True) as connection:
        while not stop.is_set():
            for query in QUERIES:
                started = time.perf_counter()
                connection.execute(query, params).fetchall()
                latencies.append(time.perf_counter() - started)


def backfill(env: dict[str, str], rerun: bool) -> None:
    command = [sys.executable, "-m", "pipeline.cli", "backfill", "--start", f"{DAY:%Y-%m-%d}",
               "--end", f"{DAY + dt.timedelta(days=1):%Y-%m-%d}", "--local-scheduler", "--workers", "2"]
    subprocess.run(command + (["--rerun"] if rerun else []), cwd=REPO, env={**os.environ, **env}, check=True,
                   capture_output=True)


def figures(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    return (statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], ordered[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    from pipeline.local.demo_data import DemoDataSpec, seed_database
    from pipeline.local.services import local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-readers-"))
    with local_stack(root, regions=(REGION,)) as stack:
        os.environ.update(stack.env())
        import pymongo

        with pymongo.MongoClient(stack.mongo_uris[REGION]) as client:
            seed_database(client.get_default_database(), DemoDataSpec(
                region=REGION, start=DAY, days=1, conversations_per_day=round(args.docs / 4.05)), drop=True)
        env = {"PIPELINE_SOURCES": f"{REGION}={stack.mongo_uris[REGION]}",
               "PIPELINE_WAREHOUSE_URL": stack.postgres_url, "PIPELINE_STORAGE_URL": str(root / "lake")}
        backfill(env, rerun=False)

        results = {}
        for label in ("idle", "busy"):
            stop, latencies = threading.Event(), []
            reader = threading.Thread(target=dashboard_loop, args=(stack.postgres_url, stop, latencies))
            reader.start()
            started = time.perf_counter()
            if label == "idle":
                time.sleep(args.seconds)
            else:
                backfill(env, rerun=True)
            stop.set()
            reader.join()
            results[label] = figures(latencies)
            p50, p99, worst = results[label]
            print(f"{label:<5} {len(latencies):>6} queries in {time.perf_counter() - started:5.1f} s: "
                  f"p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  max {worst * 1000:7.1f} ms")
        (i50, i99, imax), (b50, b99, bmax) = results["idle"], results["busy"]
        print(f"busy / idle: p50 {b50 / i50:.2f}  p99 {b99 / i99:.2f}  max {bmax / imax:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
