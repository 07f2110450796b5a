"""Benchmark: the merge's match step (which staged keys are loaded already) on 10M rows of raw history.

Run it with the virtualenv's python: `python bench/bench_merge_match.py [--history-rows N] [--keys N]`.
Nothing outside a temporary directory is touched. Nothing is asserted: it prints figures.

What it does, in one run (about 3 minutes on 2 cores):

1. Starts an embedded PostgreSQL under a temp dir, creates the pipeline's schema and writes --history-rows
   (default 10M) raw rows over 120 days, as bench/bench_history.py does.
2. Stages --keys (default 150k) message keys three ways, into a temp table shaped like the load's stage:
   new documents (keys above the history's, as a fresh day has them), updates of documents spread over the
   whole history (every 50th message), and two mixes (20k or 5k such updates, the rest new documents).
3. For each, twice: the single join the merge used before (`merge_match.sql`) against what the load does now
   (`pipeline.load.merge_bounds`, then `merge_match_ranges.sql` or `merge_match.sql` as it decides), and
   prints both times, the matched rows of each (they must agree) and whether the load split the keys.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_history import build_raw_history  # noqa: E402 - the same history

NEW = ("select 'us' as region, 'n' || lpad(to_hex(i), 23, '0') as _id, timestamp '2026-03-05' as updated_at "
       "from generate_series(1, {keys}) as i")
SPREAD = ("select region, _id, updated_at + interval '200 days' as updated_at from raw.messages "
          "where (('x' || substr(md5(_id), 1, 8))::bit(32)::int) % {every} = 0")
STAGES = {
    "new documents": lambda keys, rows: NEW.format(keys=keys),
    "updates spread over the history": lambda keys, rows: SPREAD.format(every=max(1, rows // keys)),
    "mix: 20k updates, the rest new": lambda keys, rows: (f"({SPREAD.format(every=max(1, rows // 20_000))}) "
                                                          f"union all {NEW.format(keys=keys - 20_000)}"),
    "mix: 5k updates, the rest new": lambda keys, rows: (f"({SPREAD.format(every=max(1, rows // 5_000))}) "
                                                         f"union all {NEW.format(keys=keys - 5_000)}"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-rows", type=int, default=10_000_000)
    parser.add_argument("--keys", type=int, default=150_000)
    args = parser.parse_args(argv)

    from pipeline.catalog import catalog
    from pipeline.load import merge_bounds
    from pipeline.local.services import start_postgres
    from pipeline.sqlfiles import render, statements
    from pipeline.warehouse import _connections, connection

    root = Path(tempfile.mkdtemp(prefix="bench-merge-"))
    postgres = start_postgres(root / "postgres", database="history")
    try:
        os.environ["PIPELINE_WAREHOUSE_URL"] = postgres.url
        warehouse, source = connection(), catalog().source("messages")
        started = time.perf_counter()
        build_raw_history(warehouse, args.history_rows)
        messages = warehouse.query("select count(*) from raw.messages")[0][0]
        print(f"history: {messages:,} raw messages (of {args.history_rows:,} rows) in "
              f"{time.perf_counter() - started:.0f} s")

        def match(template: str, matched: str, bounds: dict | None) -> float:
            (statement,) = statements(render(warehouse.dialect.template(template), matched=matched,
                                             target=source.table, stage="stage", key=source.key,
                                             cursor=source.cursor))
            began = time.perf_counter()
            warehouse.execute(statement, bounds)
            return time.perf_counter() - began

        for label, stage_sql in STAGES.items():
            warehouse.execute("drop table if exists stage")
            warehouse.execute(f"create temp table stage as {stage_sql(args.keys, messages)}")
            warehouse.analyze("stage")
            staged = warehouse.query("select count(*) from stage")[0][0]
            for _ in range(2):
                for temp in ("matched_before", "matched_now"):
                    warehouse.execute(f"drop table if exists {temp}")
                before = match("merge_match.sql", "matched_before", None)
                began = time.perf_counter()
                bounds = merge_bounds(warehouse, source, "stage", staged, "us")
                now = time.perf_counter() - began
                now += match("merge_match_ranges.sql" if bounds else "merge_match.sql", "matched_now", bounds)
                counts = [warehouse.query(f"select count(*) from {t}")[0][0] for t in ("matched_before", "matched_now")]
                print(f"{label:<34} {staged:>7,} keys, {counts[0]:>7,} | {counts[1]:>7,} matched: one join "
                      f"{before:5.2f} s, now {now:5.2f} s ({'split' if bounds else 'one join'}), "
                      f"ratio {now / before:.2f}")
    finally:
        for opened in _connections.values():
            opened.close()
        postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
