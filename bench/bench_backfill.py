"""Benchmark: one day of one region through `pipeline backfill`, against a raw drain and dlt.

Run it with `make bench` (which runs `python bench/bench_backfill.py`), or directly with the
virtualenv's python; `--help` lists the flags. Nothing outside a temporary directory is touched.

What it does, in one run (about 2 minutes on 2 cores for the defaults):

1. Starts the embedded services with `pipeline.local.services.local_stack` under a temp dir: one
   SecantusDB (region us), one embedded PostgreSQL, a local-folder object store.
2. Seeds one UTC day of demo data (`pipeline.local.demo_data`) twice, into separate source databases:
   about --docs documents (default 200k) and about --small-docs (default 20k).
   The generator lets a few conversations spill past midnight; every figure below counts only the
   documents whose `updated_at` lies in the day, which is what the backfill window holds.
3. Measures, each in its own process so its peak memory is its own:
   (a) raw drain: pymongo with `document_class=RawBSONDocument` running the pipeline's window
       query (`{updated_at: {$gte: day, $lt: day+1}}`, hint on updated_at, batch_size 5000) on the
       three collections and only iterating: the floor any extractor pays to the source.
   (b) `python -m pipeline.cli -v backfill --start D --end D+1 --local-scheduler --workers 2`, end
       to end (interpreter start, extract, load, transform), once on the big and once on the small
       data set, each into a fresh warehouse database and object store. `-v` only turns on Luigi's
       log, whose "running" / "done" lines (stamped as they arrive) give each task's time, so the
       split between extract, load and transform comes from the measured run itself.
   (c) dlt: the same documents, read with the same range queries and yielded as plain dicts
       (ObjectId and Decimal128 turned into str), loaded by `pipeline.run` with
       `write_disposition="merge"`, `primary_key="_id"` into another database of the same
       PostgreSQL server. `max_table_nesting=0` keeps `meta` / `variables` as JSON columns, as the
       pipeline does (flattening them would only make dlt slower). Times the whole `pipeline.run`.
       dlt does no transform: the comparison favours it.
   Memory: psutil polls the measured process and all its descendants (Luigi forks one process per
   running task) every 50 ms. "RSS sum" is the peak of the summed RSS, "RSS max" the peak of the
   largest single process, "PSS sum" the peak of the summed proportional set size (a forked child's
   pages shared with its parent count once, so this is the tree's real footprint).
4. Prints a table, the ratios against their targets:
   (b)/(a) time <= 1.2, dlt/(b) time >= 4 (the production-warehouse targets), peak RSS sum
   (b) big / (b) small <= 1.3, and per backfill run the time of every Luigi task and when
   autovacuum analyzed the raw tables.
   Nothing is asserted: this is a report, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import multiprocessing
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil

from pipeline.catalog import catalog

REPO = Path(__file__).resolve().parents[1]
REGION = "us"
DAY = dt.datetime(2026, 1, 5)  # any fixed UTC day: the generator is deterministic
BATCH_SIZE = 5000  # the pipeline's [extract] batch_size
DOCS_PER_CONVERSATION = 4.05  # demo data: a conversation and ~3.05 messages, plus ~1000 answers a day
ANSWERS_PER_DAY = 1000
POLL_SECONDS = 0.05
COLLECTIONS = tuple(catalog().sources)  # the declared sources (sql/sources/*.yml)
TARGETS = {"time_vs_raw": 1.2, "dlt_vs_ours": 4.0, "rss_big_vs_small": 1.3}
MB = 1 << 20


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Peak:
    """Peak memory of a process tree, in bytes."""

    rss_sum: int = 0
    rss_max: int = 0
    pss_sum: int = 0
    processes: int = 0  # most processes seen at once


@dataclass
class Figure:
    label: str
    docs: int
    seconds: float
    peak: Peak

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.seconds if self.seconds else 0.0


class TreeMemory(threading.Thread):
    """Polls a process and its descendants every POLL_SECONDS and keeps the peaks."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = Peak()
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss_sum = rss_max = pss_sum = 0
            for process in processes:
                try:
                    memory = process.memory_full_info()  # reads /proc/PID/smaps_rollup: rss, pss, uss
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                rss_sum += memory.rss
                rss_max = max(rss_max, memory.rss)
                pss_sum += memory.pss
            peak = self.peak
            peak.rss_sum = max(peak.rss_sum, rss_sum)
            peak.rss_max = max(peak.rss_max, rss_max)
            peak.pss_sum = max(peak.pss_sum, pss_sum)
            peak.processes = max(peak.processes, len(processes))
            self._stop_event.wait(POLL_SECONDS)

    def stop(self) -> Peak:
        self._stop_event.set()
        self.join()
        return self.peak


# --- data ----------------------------------------------------------------------------------------


def conversations_for(docs: int) -> int:
    """conversations_per_day that makes the generator produce about `docs` documents in a day."""
    return max(1, round((docs - ANSWERS_PER_DAY) / DOCS_PER_CONVERSATION))


def seed(mongo_uri: str, docs: int) -> dict[str, int]:
    """Seed one day into the URI's database (dropped first); return per-collection counts in the day."""
    import pymongo

    from pipeline.local.demo_data import DemoDataSpec, seed_database

    spec = DemoDataSpec(region=REGION, start=DAY, days=1, conversations_per_day=conversations_for(docs))
    with pymongo.MongoClient(mongo_uri) as client:
        database = client.get_default_database()
        seed_database(database, spec, drop=True)
        window = {"updated_at": {"$gte": DAY, "$lt": DAY + dt.timedelta(days=1)}}
        # Server-side counts are slow on SecantusDB; an _id-only indexed range read is quick enough.
        return {
            name: sum(1 for _ in database[name].find(window, {"_id": 1}, batch_size=BATCH_SIZE)
                      .hint([("updated_at", 1)]))
            for name in COLLECTIONS
        }


def window_query() -> dict[str, Any]:
    return {"updated_at": {"$gte": DAY, "$lt": DAY + dt.timedelta(days=1)}}


# --- (a) raw drain -------------------------------------------------------------------------------


def drain_raw(mongo_uri: str) -> tuple[int, float]:
    """Iterate the window of every collection as RawBSONDocument; return (documents, seconds)."""
    import pymongo
    from bson.raw_bson import RawBSONDocument

    with pymongo.MongoClient(mongo_uri, document_class=RawBSONDocument) as client:
        database = client.get_default_database()
        client.admin.command("ping")  # connect before the clock starts, as the pipeline's preflight does
        started = time.perf_counter()
        docs = 0
        for name in COLLECTIONS:
            cursor = database[name].find(window_query(), batch_size=BATCH_SIZE).hint([("updated_at", 1)])
            for _ in cursor:
                docs += 1
        return docs, time.perf_counter() - started


# --- (c) dlt -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """The value with ObjectId and Decimal128 (also nested) turned into str, for dlt's normalizer."""
    from bson import Decimal128, ObjectId

    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (ObjectId, Decimal128)):
        return str(value)
    return value


def dlt_postgres_url(url: str) -> str:
    """The URL in a form dlt accepts: dlt insists on a host, which a unix-socket URL
    (postgresql://user:@/db?host=/socket/dir) leaves empty. Any host will do: libpq lets the
    ?host= parameter override the one in the authority, so the socket is still used."""
    parts = urlsplit(url)
    if parts.hostname:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}localhost"))


def load_with_dlt(mongo_uri: str, postgres_url: str, pipelines_dir: str) -> tuple[int, float]:
    """Load the window of every collection with dlt (merge on _id); return (rows loaded, seconds)."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network here: no telemetry
    import dlt
    import pymongo

    client = pymongo.MongoClient(mongo_uri)
    database = client.get_default_database()

    def documents(name: str) -> Iterator[list[dict[str, Any]]]:
        cursor = database[name].find(window_query(), batch_size=BATCH_SIZE).hint([("updated_at", 1)])
        page: list[dict[str, Any]] = []
        for document in cursor:
            page.append(_plain(document))
            if len(page) == BATCH_SIZE:
                yield page
                page = []
        if page:
            yield page

    resources = [
        dlt.resource(documents(name), name=name, write_disposition="merge", primary_key="_id",
                     max_table_nesting=0)
        for name in COLLECTIONS
    ]
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt", pipelines_dir=pipelines_dir,
        destination=dlt.destinations.postgres(credentials=dlt_postgres_url(postgres_url)),
        dataset_name=f"mongo_{REGION}",
    )
    started = time.perf_counter()
    pipeline.run(resources)
    seconds = time.perf_counter() - started
    rows = sum(pipeline.last_trace.last_normalize_info.row_counts.get(name, 0) for name in COLLECTIONS)
    client.close()
    return rows, seconds


# --- running a function in its own process ------------------------------------------------------


def _child(function: Callable[..., Any], args: tuple, results: Any) -> None:
    try:
        results.put(("ok", function(*args)))
    except Exception as error:  # noqa: BLE001 - the parent raises it, with its message
        results.put(("error", f"{type(error).__name__}: {error}"))


def in_own_process(function: Callable[..., tuple[int, float]], *args: Any) -> tuple[int, float, Peak]:
    """Run function(*args) in a fresh (spawned) interpreter; return its result and the tree's peak memory."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_child, args=(function, args, results))
    process.start()
    memory = TreeMemory(process.pid)
    memory.start()
    while True:
        try:
            status, value = results.get(timeout=1)
            break
        except queue.Empty:
            if not process.is_alive():
                status, value = "error", f"the process died with exit code {process.exitcode}"
                break
    process.join()
    peak = memory.stop()
    if status != "ok":
        raise RuntimeError(f"{function.__name__} failed: {value}")
    docs, seconds = value
    return docs, seconds, peak


# --- (b) pipeline backfill -----------------------------------------------------------------------


@dataclass
class BackfillRun:
    seconds: float
    peak: Peak
    started_at: float  # epoch seconds of the Popen
    output: str  # stderr + stdout


def run_backfill(env: dict[str, str], extra: tuple[str, ...] = ()) -> BackfillRun:
    """`python -m pipeline.cli -v backfill` of DAY in a subprocess, its process tree polled for memory."""
    command = [sys.executable, "-m", "pipeline.cli", "-v", "backfill",
               "--start", f"{DAY:%Y-%m-%d}", "--end", f"{DAY + dt.timedelta(days=1):%Y-%m-%d}",
               "--local-scheduler", "--workers", "2", *extra]
    lines: list[str] = []
    started_at = time.time()
    started = time.perf_counter()
    # cwd=REPO: Luigi reads ./luigi.cfg. Output is read line by line, stamped on arrival.
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    memory = TreeMemory(process.pid)
    memory.start()
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(f"{time.time():.3f} {line.rstrip()}")
    returncode = process.wait()
    seconds = time.perf_counter() - started
    peak = memory.stop()
    output = "\n".join(lines)
    if returncode != 0:
        tail = "\n".join(lines[-30:])
        raise RuntimeError(f"pipeline backfill exited with {returncode}:\n{tail}")
    return BackfillRun(seconds=seconds, peak=peak, started_at=started_at, output=output)


def load_audit(postgres_url: str) -> list[tuple]:
    """(collection, extracted, quarantined, staged, inserted, loaded_at) of DAY's window."""
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        return conn.execute(
            "select collection, extracted, quarantined, staged, inserted, loaded_at from raw.load_audit "
            "where region = %s and window_start = %s order by collection", (REGION, DAY)).fetchall()


def last_analyzed(postgres_url: str) -> dict[str, float | None]:
    """{raw table: epoch seconds of its latest (auto)analyze, or None}."""
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "select relname, greatest(last_autoanalyze, last_analyze) from pg_stat_user_tables "
            "where schemaname = 'raw' and relname = any(%s) order by relname", (list(COLLECTIONS),)).fetchall()
    return {f"raw.{name}": (at.timestamp() if at else None) for name, at in rows}


@dataclass
class Backfill:
    figure: Figure
    run: BackfillRun
    audit: list[tuple]
    analyzed: dict[str, float | None]


def measure_backfill(label: str, env: dict[str, str], extra: tuple[str, ...] = ()) -> Backfill:
    run = run_backfill(env, extra)
    url = env["PIPELINE_WAREHOUSE_URL"]
    audit = load_audit(url)
    docs = sum(row[1] for row in audit)
    return Backfill(Figure(label, docs, run.seconds, run.peak), run, audit, last_analyzed(url))


_TASK_LINE = re.compile(r"^(?P<at>\d+\.\d+) .*Worker\(.*?\) (?P<event>running|done)\s+"
                        r"(?P<family>\w+)\((?P<params>.*)\)\s*$")


def task_intervals(run: BackfillRun) -> dict[str, tuple[float, float]]:
    """{task label: (start, end)} in seconds since the Popen, from Luigi's running/done log lines."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for line in run.output.splitlines():
        match = _TASK_LINE.match(line)
        if not match:
            continue
        collection = re.search(r"collection=(\w+)", match["params"])
        window = re.search(r"window_start=\S+T(\d\d)(\d\d), window_minutes=(\d+)", match["params"])
        label = match["family"] + (f"[{collection[1]}]" if collection else "")
        if window and window[3] != "1440":  # a day cut into windows: each window's tasks apart
            label += f" {window[1]}:{window[2]}"
        moments = starts if match["event"] == "running" else ends
        moments.setdefault(label, float(match["at"]) - run.started_at)  # luigi may log a line twice
    return {label: (starts[label], ends[label]) for label in starts if label in ends}


def print_stages(backfill: Backfill) -> None:
    run = backfill.run
    intervals = task_intervals(run)
    if not intervals:
        print("  (no Luigi task lines found in the -v output)")
        return
    print(f"  {'task':<30} {'start s':>8} {'end s':>8} {'took s':>8}")
    for label, (start, end) in sorted(intervals.items(), key=lambda item: item[1]):
        print(f"  {label:<30} {start:>8.2f} {end:>8.2f} {end - start:>8.2f}")
    print(f"  {'(process exit)':<30} {'':>8} {run.seconds:>8.2f}")
    print("  per stage: worker-seconds (sum of its tasks) / wall span (first start .. last end)")
    for family in ("ExtractWindow", "LoadWindow", "TransformWindow"):
        spans = [span for label, span in intervals.items() if label.startswith(family)]
        if spans:
            busy = sum(end - start for start, end in spans)
            wall = max(end for _, end in spans) - min(start for start, _ in spans)
            print(f"    {family:<16} {busy:7.2f} s / {wall:7.2f} s")
    first = min(start for start, _ in intervals.values())
    last = max(end for _, end in intervals.values())
    print(f"    before the first task (start-up, preflight, scheduling): {first:.2f} s; "
          f"after the last: {run.seconds - last:.2f} s")
    analyzed = ", ".join(f"{table} at {at - run.started_at:+.1f} s" if at else f"{table} never"
                         for table, at in backfill.analyzed.items())
    print(f"  raw tables (auto)analyzed: {analyzed}")


# --- services ------------------------------------------------------------------------------------


def with_path(url: str, database: str) -> str:
    """A postgresql:// or mongodb:// URL with another database name in its path."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def create_database(postgres_url: str, name: str) -> str:
    """Create database `name` on the server of postgres_url; return its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_path(postgres_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_path(postgres_url, name)


def pipeline_env(mongo_uri: str, postgres_url: str, lake: Path) -> dict[str, str]:
    return {"PIPELINE_SOURCES": f"{REGION}={mongo_uri}", "PIPELINE_WAREHOUSE_URL": postgres_url,
            "PIPELINE_STORAGE_URL": str(lake)}


# --- report --------------------------------------------------------------------------------------


def print_table(figures: list[Figure]) -> None:
    header = (f"{'measurement':<34} {'docs':>8} {'seconds':>8} {'docs/s':>8} "
              f"{'RSS sum':>9} {'RSS max':>9} {'PSS sum':>9} {'procs':>5}")
    print(header)
    print("-" * len(header))
    for f in figures:
        print(f"{f.label:<34} {f.docs:>8} {f.seconds:>8.2f} {f.docs_per_second:>8.0f} "
              f"{f.peak.rss_sum / MB:>6.0f} MB {f.peak.rss_max / MB:>6.0f} MB {f.peak.pss_sum / MB:>6.0f} MB "
              f"{f.peak.processes:>5}")


def print_ratios(raw: Figure, ours: Figure, small: Figure, dlt: Figure | None, heading: str = "ratios:") -> None:
    def line(name: str, value: float, target: str, met: bool) -> None:
        print(f"  {name:<44} {value:6.2f}   target {target:<7} {'MET' if met else 'NOT MET'}")

    print(heading)
    ratio = ours.seconds / raw.seconds
    line("(b) backfill time / (a) raw drain time", ratio, f"<= {TARGETS['time_vs_raw']}",
         ratio <= TARGETS["time_vs_raw"])
    if dlt is not None:
        ratio = dlt.seconds / ours.seconds
        line("(c) dlt time / (b) backfill time", ratio, f">= {TARGETS['dlt_vs_ours']}",
             ratio >= TARGETS["dlt_vs_ours"])
    ratio = ours.peak.rss_sum / small.peak.rss_sum
    line(f"peak RSS sum (b) {ours.docs} / {small.docs} docs", ratio, f"<= {TARGETS['rss_big_vs_small']}",
         ratio <= TARGETS["rss_big_vs_small"])
    print(f"  (for reference: RSS max {ours.peak.rss_max / small.peak.rss_max:.2f}, "
          f"PSS sum {ours.peak.pss_sum / small.peak.pss_sum:.2f}; per-document time "
          f"{(ours.seconds / ours.docs) / (small.seconds / small.docs):.2f} x the small run's)")


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200_000, help="documents in the big day (default 200000)")
    parser.add_argument("--small-docs", type=int, default=20_000,
                        help="documents in the small day, for the memory-scaling ratio (default 20000)")
    parser.add_argument("--no-dlt", action="store_true", help="skip (c), e.g. when dlt is not installed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (its path is printed)")
    parser.add_argument("--also-window-minutes", type=lambda text: [int(n) for n in text.split(",")], default=[],
                        help="also back the big day up in windows of these minutes (e.g. 360,480), each into a "
                             "fresh warehouse and lake, to compare with the default in the same run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pipeline.local.services import local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    print(f"bench: {args.docs} + {args.small_docs} docs on {DAY:%Y-%m-%d}, region {REGION}, root {root}")
    total = time.perf_counter()
    try:
        with local_stack(root, regions=(REGION,)) as stack:
            os.environ.update(stack.env())
            mongo = stack.mongo_uris[REGION]
            small_mongo = with_path(mongo, f"ada_{REGION}_small")
            postgres = stack.postgres_url

            for uri, docs in ((mongo, args.docs), (small_mongo, args.small_docs)):
                started = time.perf_counter()
                counts = seed(uri, docs)
                print(f"seeded {urlsplit(uri).path.strip('/')}: {sum(counts.values())} docs in the day "
                      f"({', '.join(f'{n} {name}' for name, n in counts.items())}) "
                      f"in {time.perf_counter() - started:.1f} s")

            figures: list[Figure] = []
            docs, seconds, peak = in_own_process(drain_raw, mongo)
            raw = Figure("(a) raw drain, RawBSONDocument", docs, seconds, peak)
            figures.append(raw)
            print(f"(a) done in {seconds:.1f} s")

            big = measure_backfill("(b) pipeline backfill", pipeline_env(mongo, postgres, root / "lake"))
            ours = big.figure
            figures.append(ours)
            print(f"(b) done in {ours.seconds:.1f} s; load_audit: "
                  + ", ".join(f"{c} extracted {e} quarantined {q} staged {s} inserted {i}"
                              for c, e, q, s, i, _ in big.audit))
            if ours.docs != raw.docs:
                print(f"  note: backfill extracted {ours.docs} docs, the raw drain read {raw.docs}")

            little = measure_backfill("(b) pipeline backfill, small", pipeline_env(
                small_mongo, create_database(postgres, "analytics_small"), root / "lake_small"))
            small = little.figure
            figures.append(small)
            print(f"(b) small done in {small.seconds:.1f} s")

            alternatives = []
            for minutes in args.also_window_minutes:
                alternative = measure_backfill(
                    f"(b) backfill, {minutes}-minute windows",
                    pipeline_env(mongo, create_database(postgres, f"analytics_w{minutes}"), root / f"lake_w{minutes}"),
                    ("--window-minutes", str(minutes)))
                alternatives.append(alternative)
                figures.append(alternative.figure)
                print(f"{alternative.figure.label} done in {alternative.figure.seconds:.1f} s")

            dlt_figure = None
            if not args.no_dlt and importlib.util.find_spec("dlt") is None:
                print("(c) skipped: dlt is not installed (pip install -e '.[bench]')")
            elif not args.no_dlt:
                dlt_url = create_database(postgres, "dlt_bench")
                docs, seconds, peak = in_own_process(load_with_dlt, mongo, dlt_url, str(root / "dlt"))
                dlt_figure = Figure("(c) dlt merge into postgres", docs, seconds, peak)
                figures.append(dlt_figure)
                print(f"(c) done in {seconds:.1f} s")

            print()
            print_table(figures)
            print()
            print_ratios(raw, ours, small, dlt_figure)
            for alternative in alternatives:
                print(f"  {alternative.figure.label} / (a) raw drain time: "
                      f"{alternative.figure.seconds / raw.seconds:.2f}")
            for title, backfill in (("(b)", big), ("(b) small", little),
                                    *((a.figure.label, a) for a in alternatives)):
                print()
                print(f"tasks of {title}, {backfill.figure.docs} docs, {backfill.figure.seconds:.1f} s:")
                print_stages(backfill)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    print(f"\nbench took {time.perf_counter() - total:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
