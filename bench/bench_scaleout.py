"""Benchmark: one backfill range shared by N `pipeline backfill` processes on one luigid, as N worker pods would
run it (deploy/k8s/backfill-job.yaml).

Run it with the virtualenv's python: `python bench/bench_scaleout.py [--days 3] [--conversations 2000]
[--processes 1 2 4]`. Nothing outside a temporary directory is touched.

What it does, in one run: starts the embedded services (two regions, us and eu) under a temp dir, seeds --days
days of demo data into each, then for each N of --processes: starts a fresh luigid (`pipeline scheduler`), a
fresh warehouse database and lake, and N `pipeline backfill --workers W --scheduler-url ...` processes at once
over the whole range. While they run it samples pg_stat_activity every 20 ms: the warehouse connections of the
backfill, and how many of them hold a transaction that wrote (a load, a transform). When all have ended it
counts the windows loaded more than once (raw.load_audit) and transformed more than once (analytics.transform_audit).
It prints, per N: the wall time and its ratio to N = 1, the peak connections and peak writers (luigid's
[resources] warehouse_writers is 3: loads, transforms and rebuilds at once), and the duplicates. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REGIONS = ("us", "eu")
START = dt.datetime(2026, 11, 1)


def with_path(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def seed(stack, days: int, conversations: int) -> None:
    import pymongo

    from pipeline.local.demo_data import DemoDataSpec, seed_database

    for region in REGIONS:
        spec = DemoDataSpec(region=region, start=START, days=days, conversations_per_day=conversations)
        with pymongo.MongoClient(stack.mongo_uris[region]) as client:
            seed_database(client.get_default_database(), spec, drop=True)


def create_database(postgres_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(with_path(postgres_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}"')
        admin.execute(f'create database "{name}"')
    return with_path(postgres_url, name)


class Sampler(threading.Thread):
    """Peak connections to one database, and peak of those inside a transaction that wrote (it has a
    transaction id: a load, a transform, a marker), every 20 ms."""

    def __init__(self, postgres_url: str, database: str):
        super().__init__(daemon=True)
        self.url, self.database = with_path(postgres_url, "postgres"), database
        self.connections = self.writing = 0
        self.done = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as monitor:
            while not self.done.wait(0.02):
                ((connections, writing),) = monitor.execute(
                    "select count(*), count(*) filter (where backend_xid is not null) "
                    "from pg_stat_activity where datname = %s and pid <> pg_backend_pid()", (self.database,)
                ).fetchall()
                self.connections, self.writing = max(self.connections, connections), max(self.writing, writing)


def duplicates(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as connection:
        loads = connection.execute("select count(*) from (select 1 from raw.load_audit group by region, collection, "
                                   "window_start having count(*) > 1) as twice").fetchone()[0]
        transforms = connection.execute("select count(*) from (select 1 from analytics.transform_audit group by "
                                        "region, window_start having count(*) > 1) as twice").fetchone()[0]
    return loads, transforms


def run_processes(count: int, stack, root: Path, days: int, workers: int, writers: int) -> dict:
    from tests.luigid import start_luigid, stop_luigid

    database = f"workers_{count}"
    url = create_database(stack.postgres_url, database)
    sources = ",".join(f"{region}={stack.mongo_uris[region]}" for region in REGIONS)
    env = {**os.environ, **stack.env(), "PIPELINE_WAREHOUSE_URL": url,
           "PIPELINE_STORAGE_URL": str(root / f"lake{count}"), "PIPELINE_SOURCES": sources}
    # The warehouse's tables first, as a deployed warehouse has them: the processes then only run the range.
    subprocess.run([sys.executable, "-m", "pipeline.cli", "doctor"], env=env, capture_output=True, check=False)
    operator = root / f"luigid{count}.cfg"  # the operator's luigid settings: the writers' cap
    operator.write_text(f"[resources]\nwarehouse_writers = {writers}\n")
    luigid, scheduler = start_luigid(root / f"luigid{count}", env, str(operator))
    sampler = Sampler(stack.postgres_url, database)
    sampler.start()
    end = START + dt.timedelta(days=days)
    command = [sys.executable, "-m", "pipeline.cli", "backfill", "--start", f"{START:%Y-%m-%d}", "--end",
               f"{end:%Y-%m-%d}", "--workers", str(workers), "--quiet", "--scheduler-url", scheduler]
    started = time.perf_counter()
    try:
        processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                     for _ in range(count)]
        outputs = [process.communicate()[0] for process in processes]
        seconds = time.perf_counter() - started
    finally:
        sampler.done.set()
        sampler.join()
        stop_luigid(luigid)
    failed = [output[-400:] for process, output in zip(processes, outputs) if process.returncode]
    loads, transforms = duplicates(url)
    return {"seconds": seconds, "connections": sampler.connections, "writing": sampler.writing, "loads_twice": loads,
            "transforms_twice": transforms, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=2000, help="conversations per day and region")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--workers", type=int, default=1, help="Luigi workers of each process")
    parser.add_argument("--writers", type=int, default=3, help="luigid's [resources] warehouse_writers")
    args = parser.parse_args()
    from pipeline.local.services import local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    with local_stack(root, regions=REGIONS) as stack:
        os.environ.update(stack.env())
        started = time.perf_counter()
        seed(stack, args.days, args.conversations)
        print(f"seeded {args.days} day(s) x {len(REGIONS)} regions, {args.conversations} conversations a day each, "
              f"in {time.perf_counter() - started:.0f} s")
        results = {count: run_processes(count, stack, root, args.days, args.workers, args.writers)
                   for count in args.processes}
    base = results[args.processes[0]]["seconds"]
    print(f"--workers {args.workers} per process; luigid's [resources] warehouse_writers {args.writers}")
    print(f"{'processes':>9} {'seconds':>8} {'ratio':>6} {'peak conns':>10} {'peak writers':>12} {'loaded twice':>12} "
          f"{'transformed twice':>17}")
    for count, result in results.items():
        print(f"{count:>9} {result['seconds']:>8.1f} {result['seconds'] / base:>6.2f} {result['connections']:>10} "
              f"{result['writing']:>12} {result['loads_twice']:>12} {result['transforms_twice']:>17}")
        for failure in result["failed"]:
            print(f"  a process failed: {failure}")


if __name__ == "__main__":
    main()
