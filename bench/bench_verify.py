"""Benchmark: what `pipeline verify` (key and cursor of every document, source against warehouse) costs next to
the backfill it checks.

Run it with the virtualenv's python: `python bench/bench_verify.py [--docs-per-day 1000000]`. Nothing outside a
temporary directory is touched.

What it does, in one run: starts the embedded services under a temp dir, seeds one UTC day of demo data
(--docs-per-day, default 1M) into one region, times `pipeline backfill` of that day (two workers, local
scheduler), then `pipeline verify` of the same day, and prints both, verify's seconds per 1M documents and the
ratio verify / backfill. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backfill import DAY, REGION, REPO, create_database, seed  # noqa: E402


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", *command], cwd=REPO, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs-per-day", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    from pipeline.local.services import local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    with local_stack(root, regions=(REGION,)) as stack:
        started = time.perf_counter()
        counts = seed(stack.mongo_uris[REGION], args.docs_per_day)
        documents = sum(counts.values())
        print(f"seeded {documents} documents in the day ({counts}) in {time.perf_counter() - started:.0f} s",
              flush=True)
        env = {**os.environ, **stack.env(), "PIPELINE_STORAGE_URL": str(root / "lake"),
               "PIPELINE_WAREHOUSE_URL": create_database(stack.postgres_url, "verify_bench")}
        day = ["--start", f"{DAY:%Y-%m-%d}", "--end", f"{DAY + dt.timedelta(days=1):%Y-%m-%d}"]
        backfill = timed(["backfill", *day, "--local-scheduler", "--workers", "2", "--quiet"], env)
        print(f"backfill {backfill:.1f} s", flush=True)
        verify = timed(["verify", *day], env)
        print(f"verify   {verify:.1f} s ({verify * 1_000_000 / documents:.1f} s per 1M documents)")
        print(f"ratio verify / backfill: {verify / backfill:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
