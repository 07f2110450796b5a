"""Benchmark: does the cost of a window grow with the history already in the warehouse?

Run it with the virtualenv's python: `python bench/bench_history.py [--history-rows N] [--day-docs N]`.
Nothing outside a temporary directory is touched. Nothing is asserted: it prints figures.

What it does, in one run:

1. Starts an embedded PostgreSQL under a temp dir and makes two warehouse databases with the pipeline's
   schema (tables, keys, indexes, as `pipeline` creates them): `empty`, and `history`, which gets
   --history-rows (default 10M) raw rows over the 120 days before the measured days, written by
   server-side INSERT ... SELECT of synthetic rows (not through MongoDB), then the analytics built from
   them by the pipeline's own transform, one day-window at a time as a backfill would.
2. Generates, with the demo data generator, (w) one 15-minute window at the rate of 1M documents a day
   (about 10.4k documents: a day of demo data at that size, its times compressed into the 15 minutes) and
   (d) one day of --day-docs documents (default 200k). Both are converted to part files once
   (`pipeline.extract.extract_window`, the extract's own code; MongoDB is not involved).
3. Into each database: load the three collections of (w) and transform it, timed; then the same for (d).
   The load is COPY + merge + audit (`pipeline.load.load_window`), the transform every model
   (`pipeline.transform.transform_window`), as the tasks run them.
4. Prints each time, and the ratios history / empty (target <= 1.2) and (w)'s time against 3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REGION = "us"
WINDOW_DAY = dt.datetime(2026, 3, 2)  # (w) is 12:00-12:15 of this day
WINDOW = (WINDOW_DAY + dt.timedelta(hours=12), WINDOW_DAY + dt.timedelta(hours=12, minutes=15))
DAY = dt.datetime(2026, 3, 3)  # (d)
HISTORY_DAYS = 120
MESSAGES_PER_CONVERSATION = 3
ANSWERS = 1000


def with_database(url: str, database: str) -> str:
    """A postgresql:// URL with another database in its path (options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def history_sql(rows: int) -> list[str]:
    """INSERT ... SELECT statements writing about `rows` raw rows (conversations, their messages, answers)
    over the HISTORY_DAYS before WINDOW_DAY, with ids that cannot collide with real ObjectIds."""
    conversations = rows // (1 + MESSAGES_PER_CONVERSATION)
    start = WINDOW_DAY - dt.timedelta(days=HISTORY_DAYS)
    seconds = HISTORY_DAYS * 86400 / conversations
    stamp = f"timestamp '{start:%Y-%m-%d}' + (i * {seconds:.6f}) * interval '1 second'"
    return [
        f"""insert into "raw".answers (region, _id, client_id, title, "language", content, active, version,
                created_at, updated_at, _window_start, _loaded_at)
            select '{REGION}', 'a' || lpad(to_hex(i), 23, '0'), 'client_' || (i % 40), 'Answer ' || i,
                   (array['en', 'fr', 'de', 'es'])[1 + i % 4], 'Text of answer ' || i, true, 1,
                   timestamp '{start:%Y-%m-%d}', timestamp '{start:%Y-%m-%d}', timestamp '{start:%Y-%m-%d}', now()
            from generate_series(1, {ANSWERS}) as i""",
        f"""insert into "raw".conversations (region, _id, client_id, chatter_id, "language", device, platform,
                created_at, updated_at, meta, _window_start, _loaded_at)
            select '{REGION}', 'c' || lpad(to_hex(i), 23, '0'), 'client_' || (i % 40), 'chatter_' || i,
                   (array['en', 'fr', 'de', 'es'])[1 + i % 4], (array['desktop', 'mobile', 'tablet'])[1 + i % 3],
                   (array['web', 'ios', 'android', 'whatsapp'])[1 + i % 4], {stamp},
                   {stamp} + interval '5 minutes', '{{"country": "FR"}}', date_trunc('day', {stamp}), now()
            from generate_series(1, {conversations}) as i""",
        f"""insert into "raw".messages (region, _id, conversation_id, client_id, sender, answer_id, "text",
                confidence, created_at, updated_at, _window_start, _loaded_at)
            select '{REGION}', 'm' || lpad(to_hex(i * {MESSAGES_PER_CONVERSATION} + j), 23, '0'),
                   'c' || lpad(to_hex(i), 23, '0'), 'client_' || (i % 40),
                   case when j = 1 then 'chatter' else 'bot' end,
                   case when j = 1 then null else 'a' || lpad(to_hex(1 + (i * j) % {ANSWERS}), 23, '0') end,
                   'hello', 0.5, {stamp} + j * interval '1 minute', {stamp} + j * interval '1 minute',
                   date_trunc('day', {stamp}), now()
            from generate_series(1, {conversations}) as i, generate_series(0, {MESSAGES_PER_CONVERSATION - 1}) as j""",
    ]


def build_raw_history(warehouse, rows: int) -> None:
    """Write about `rows` synthetic raw rows (history_sql) and analyze the raw tables, as the loads do when a
    table grows (refresh_statistics)."""
    from pipeline.catalog import catalog

    for statement in history_sql(rows):
        warehouse.execute(statement)
    for source in catalog().sources.values():
        warehouse.analyze(source.table)


def documents(docs_per_day: int, day: dt.datetime, squeeze_into: tuple[dt.datetime, dt.datetime] | None
              ) -> dict[str, list[dict]]:
    """A day of demo documents per collection; with `squeeze_into`, their times mapped into that range."""
    from pipeline.local.demo_data import DemoDataSpec, generate

    spec = DemoDataSpec(region=REGION, start=day, days=1, conversations_per_day=max(1, round(docs_per_day / 4.05)))
    found: dict[str, list[dict]] = defaultdict(list)
    for name, batch in generate(spec):
        found[name].extend(batch)
    if squeeze_into:
        start, end = squeeze_into
        scale = (end - start) / dt.timedelta(days=1)

        def squeeze(moment: dt.datetime) -> dt.datetime:
            return start + (moment - day) * scale

        for batch in found.values():
            for document in batch:
                for field in ("created_at", "updated_at"):
                    if isinstance(document.get(field), dt.datetime):
                        document[field] = min(squeeze(document[field]), end - dt.timedelta(microseconds=1))
    window_start, window_end = squeeze_into or (day, day + dt.timedelta(days=1))
    return {name: [d for d in batch if window_start <= d["updated_at"] < window_end] for name, batch in found.items()}


def extract(docs: dict[str, list[dict]], window, store) -> dict[str, dict]:
    from pipeline.catalog import catalog
    from pipeline.extract import extract_window

    return {name: extract_window(batch, catalog().source(name), REGION, window, store, part_rows=250_000,
                                 part_bytes=64 << 20, compress_level=3)
            for name, batch in docs.items()}


def load_and_transform(manifests: dict[str, dict], window, store) -> float:
    from pipeline.catalog import catalog
    from pipeline.load import load_window
    from pipeline.transform import transform_window
    from pipeline.warehouse import connection
    from pipeline.windows import utcnow

    warehouse = connection()
    started = time.perf_counter()
    for name in ("answers", "conversations", "messages"):
        manifest = manifests[name]
        load_window(warehouse, catalog().source(name), manifest, store, {
            "region": REGION, "collection": name, "window_start": window.start, "window_end": window.end,
            "extracted": manifest["extracted"], "quarantined": manifest["quarantined"],
            "manifest_url": manifest["path"], "loaded_at": utcnow()})
    transform_window(warehouse, catalog(), REGION, window, utcnow())
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-rows", type=int, default=10_000_000)
    parser.add_argument("--day-docs", type=int, default=200_000)
    args = parser.parse_args(argv)

    import psycopg

    from pipeline.catalog import catalog
    from pipeline.config import parse_storage_url
    from pipeline.local.services import start_postgres
    from pipeline.storage import ObjectStore
    from pipeline.transform import transform_window
    from pipeline.warehouse import connection
    from pipeline.windows import Window, utcnow

    root = Path(tempfile.mkdtemp(prefix="bench-history-"))
    postgres = start_postgres(root / "postgres", database="empty")
    try:
        with psycopg.connect(with_database(postgres.url, "postgres"), autocommit=True) as admin:
            admin.execute("create database history")
        urls = {"empty": postgres.url, "history": with_database(postgres.url, "history")}
        store = ObjectStore(parse_storage_url(str(root / "lake")))
        for url in urls.values():
            os.environ["PIPELINE_WAREHOUSE_URL"] = url
            connection()  # the schema, as the pipeline makes it

        started = time.perf_counter()
        os.environ["PIPELINE_WAREHOUSE_URL"] = urls["history"]
        warehouse = connection()
        build_raw_history(warehouse, args.history_rows)
        raw_rows = sum(warehouse.query(f'select count(*) from {s.table}')[0][0] for s in catalog().sources.values())
        built_raw = time.perf_counter() - started
        keys = 0
        for day in range(HISTORY_DAYS):  # the analytics of that history, a day at a time as a backfill builds it
            start = WINDOW_DAY - dt.timedelta(days=HISTORY_DAYS - day)
            keys += transform_window(warehouse, catalog(), REGION, Window(start, start + dt.timedelta(days=1)),
                                     utcnow())
        for model in catalog().models.values():
            warehouse.analyze(model.table)
        print(f"history: {raw_rows:,} raw rows in {built_raw:.1f} s; analytics of {keys:,} keys in "
              f"{time.perf_counter() - started - built_raw:.1f} s")

        started = time.perf_counter()
        window, day = Window(*WINDOW), Window(DAY, DAY + dt.timedelta(days=1))
        window_parts = extract(documents(1_000_000 // 96 + 1, WINDOW_DAY, WINDOW), window, store)
        day_parts = extract(documents(args.day_docs, DAY, None), day, store)
        print(f"parts: (w) {sum(m['written'] for m in window_parts.values()):,} docs in {window}, "
              f"(d) {sum(m['written'] for m in day_parts.values()):,} docs in {day}, "
              f"made in {time.perf_counter() - started:.1f} s")

        # A first load and transform in each database, not timed: the process's first ones pay for imports and
        # plan caches, which would count against whichever database went first.
        warm = Window(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=1, minutes=15))
        warm_parts = extract(documents(2_000, warm.start, (warm.start, warm.end)), warm, store)
        for url in urls.values():
            os.environ["PIPELINE_WAREHOUSE_URL"] = url
            load_and_transform(warm_parts, warm, store)
        times: dict[tuple[str, str], float] = {}
        for label in ("empty", "history"):
            os.environ["PIPELINE_WAREHOUSE_URL"] = urls[label]
            times[(label, "w")] = load_and_transform(window_parts, window, store)
            times[(label, "d")] = load_and_transform(day_parts, day, store)
            print(f"{label:<8} (w) 15-minute window: {times[(label, 'w')]:.2f} s   (d) one day: "
                  f"{times[(label, 'd')]:.2f} s")
        for what, name in (("w", "15-minute window"), ("d", "one day")):
            ratio = times[("history", what)] / times[("empty", what)]
            print(f"ratio history / empty, {name}: {ratio:.2f}  target <= 1.2  {'MET' if ratio <= 1.2 else 'NOT MET'}")
        seconds = times[("history", "w")]
        print(f"15-minute window at 1M docs/day, with history: {seconds:.2f} s  target < 3 s  "
              f"{'MET' if seconds < 3 else 'NOT MET'}")
    finally:
        from pipeline.warehouse import _connections

        for opened in _connections.values():
            opened.close()
        postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
