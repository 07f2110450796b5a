"""Benchmark: a model change applied from the warehouse's raw tables, against extracting the history again.

Run it with the virtualenv's python: `python bench/bench_transform.py [--days 30] [--docs-per-day 60000]`.
Nothing outside a temporary directory is touched.

What it does, in one run: starts the embedded services under a temp dir, seeds --days UTC days of demo data
(--docs-per-day each) into one region, backfills them (two workers, local scheduler), then changes
daily_conversation_metrics (a new column filled by its SQL) in a scratch copy of sql/ and times, one after
the other:
  (a) `pipeline transform` of the range: the stale model rebuilt from the raw tables, a day at a time;
  (b) `pipeline backfill --rerun` of the range: every window extracted, loaded and transformed again;
  (c) `pipeline transform --model daily_conversation_metrics` of the range: that model rebuilt day by day;
  (d) `pipeline transform --full-refresh --model daily_conversation_metrics`: the whole history at once.
  (e) `pipeline transform` of the range once more, with nothing stale: the command's fixed cost.
It prints each, the ratios (b)/(a) and (c)/(d), and (c)/(d) without the fixed cost (e). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backfill import DAY, REGION, REPO, conversations_for, create_database  # noqa: E402
from bench_verify import timed  # noqa: E402

MODEL = "daily_conversation_metrics"


def seed(mongo_uri: str, days: int, docs_per_day: int) -> None:
    import pymongo

    from pipeline.local.demo_data import DemoDataSpec, seed_database

    spec = DemoDataSpec(region=REGION, start=DAY, days=days, conversations_per_day=conversations_for(docs_per_day))
    with pymongo.MongoClient(mongo_uri) as client:
        seed_database(client.get_default_database(), spec, drop=True)


def refresh_seconds(warehouse_url: str) -> float:
    """What the last full refresh took inside the warehouse task, as analytics.model_refreshes recorded it."""
    import psycopg

    with psycopg.connect(warehouse_url) as connection:
        return connection.execute("select seconds from analytics.model_refreshes order by refreshed_at desc "
                                  "limit 1").fetchone()[0]


def change_model(root: Path) -> None:
    """daily_conversation_metrics gains a column, filled by its new SQL: its fingerprint changes."""
    folder = root / "models" / MODEL
    with open(folder / "model.yml", "a", encoding="utf-8") as declaration:
        declaration.write('  - {name: bot_messages, type: int, description: "Bot messages in those conversations."}\n')
    sql = (folder / "model.sql").read_text(encoding="utf-8")
    (folder / "model.sql").write_text(sql.replace(
        "    sum(ac.message_count) as messages\n",
        "    sum(ac.message_count) as messages,\n    sum(ac.bot_message_count) as bot_messages\n"), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--docs-per-day", type=int, default=60_000)
    args = parser.parse_args(argv)
    from pipeline.local.services import local_stack
    from pipeline.sqlfiles import SQL_DIR_ENV

    root = Path(tempfile.mkdtemp(prefix="bench-transform-"))
    with local_stack(root, regions=(REGION,)) as stack:
        started = time.perf_counter()
        seed(stack.mongo_uris[REGION], args.days, args.docs_per_day)
        print(f"seeded {args.days} days of about {args.docs_per_day} documents each in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        scratch = root / "sql"
        shutil.copytree(REPO / "sql", scratch)  # this checkout's, as the commands below run it
        env = {**os.environ, **stack.env(), "PIPELINE_STORAGE_URL": str(root / "lake"), SQL_DIR_ENV: str(scratch),
               "PIPELINE_WAREHOUSE_URL": create_database(stack.postgres_url, "transform_bench")}
        span = ["--start", f"{DAY:%Y-%m-%d}", "--end", f"{DAY + dt.timedelta(days=args.days):%Y-%m-%d}",
                "--local-scheduler", "--workers", "2", "--quiet"]
        print(f"backfill                       {timed(['backfill', *span, '--force'], env):7.1f} s", flush=True)
        change_model(scratch)
        stale = timed(["transform", *span], env)
        print(f"(a) transform of the change    {stale:7.1f} s", flush=True)
        rerun = timed(["backfill", "--rerun", *span, "--force"], env)
        print(f"(b) backfill --rerun           {rerun:7.1f} s", flush=True)
        by_day = timed(["transform", *span, "--model", MODEL], env)
        print(f"(c) transform --model, by day  {by_day:7.1f} s", flush=True)
        refresh = timed(["transform", "--full-refresh", "--model", MODEL, *span[-4:]], env)
        print(f"(d) --full-refresh             {refresh:7.1f} s (the rebuild and swap alone: "
              f"{refresh_seconds(env['PIPELINE_WAREHOUSE_URL']):.1f} s)", flush=True)
        idle = timed(["transform", *span], env)  # nothing stale: start-up, preflight and scheduling
        print(f"(e) transform, nothing to do   {idle:7.1f} s", flush=True)
        print(f"ratio (b)/(a), rerun / transform:          {rerun / stale:.1f}")
        print(f"ratio (c)/(d), day by day / full refresh:  {by_day / refresh:.1f}")
        print(f"ratio (c-e)/(d-e), the same without the command's fixed cost:  "
              f"{(by_day - idle) / max(refresh - idle, 0.01):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
