"""Chaos soak: `pipeline backfill` runs killed (SIGKILL, the whole process group) at random moments, directly and
through luigid, each repeated; after every trial the warehouse is compared with the source document by
document and `pipeline verify` is run.

Run it with the virtualenv's python: `python bench/bench_chaos.py [--trials 30] [--seed S]`. Nothing outside a
temporary directory is touched.

What it does, in one run:

1. Starts the embedded services and luigid (`pipeline scheduler`, told a worker is dead after 3 s) under a temp
   dir, and seeds two UTC days of demo data in two regions.
2. Each trial changes a few conversations and messages (a third of them to an earlier `updated_at`), starts
   `pipeline backfill --rerun` over the two days in 3-hour windows (two workers; every other trial through
   luigid), kills it at a random moment, runs the same command again to its end and compares.
3. Prints one line per trial and the totals: trials, kills that landed mid-run, repeats that failed, verify
   runs that were not green (repairs needed), and rows lost, duplicated and stale (all should be 0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.chaos import change_documents, compare, killed_then_repeated, pipeline_command, run  # noqa: E402
from tests.luigid import start_luigid, stop_luigid  # noqa: E402

START, END = dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 22)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--conversations-per-day", type=int, default=40)
    parser.add_argument("--longest", type=float, default=8.0, help="latest kill, seconds into a run")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)

    import psycopg
    from pymongo import MongoClient

    from pipeline.local.demo_data import DemoDataSpec, seed_database
    from pipeline.local.services import local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    with local_stack(root, regions=("us", "eu")) as stack:
        env = {**os.environ, **stack.env(), "PIPELINE_STORAGE_URL": str(root / "lake")}
        operator = root / "luigid-operator.cfg"
        operator.write_text("[scheduler]\nworker_disconnect_delay = 3\n")
        luigid, url = start_luigid(root / "luigid", env, str(operator))
        try:
            settings = root / "chaos.cfg"
            settings.write_text(f"[core]\nscheduler_url = {url}\n[held_wait]\npoll_seconds = 1\n")
            env["LUIGI_CONFIG_PATH"] = str(settings)
            for number, (region, uri) in enumerate(stack.mongo_uris.items(), start=1):
                seed_database(MongoClient(uri).get_default_database(), DemoDataSpec(
                    region=region, start=START, days=2, conversations_per_day=args.conversations_per_day,
                    seed=number), drop=True)
            range_args = ["--start", f"{START:%Y-%m-%d}", "--end", f"{END:%Y-%m-%d}", "--window-minutes", "180"]
            first = run(pipeline_command("backfill", *range_args, "--local-scheduler"), env)
            if first.returncode:
                raise RuntimeError(first.stderr[-2000:])
            totals = {"killed": 0, "repeat failed": 0, "repairs needed": 0, "lost": 0, "duplicated": 0, "stale": 0,
                      "extra": 0}
            print(f"seed {seed}; {args.trials} trials")
            for trial in range(1, args.trials + 1):
                through = "luigid" if trial % 2 == 0 else "local"
                changed = change_documents(stack.mongo_uris, START, END, rng, count=5)
                command = pipeline_command("backfill", "--rerun", *range_args, "--workers", "2",
                                           *(["--local-scheduler"] if through == "local" else []))
                outcome = killed_then_repeated(command, env, rng, args.longest)
                with psycopg.connect(env["PIPELINE_WAREHOUSE_URL"], autocommit=True) as connection:
                    differences = compare(stack.mongo_uris, connection, START, END)
                verified = run(pipeline_command("verify", *range_args), env)
                totals["killed"] += outcome.killed
                totals["repeat failed"] += outcome.repeat_code != 0
                totals["repairs needed"] += verified.returncode != 0
                for kind in ("lost", "stale", "extra"):
                    totals[kind] += len(getattr(differences, kind))
                totals["duplicated"] += differences.duplicated
                print(f"trial {trial:>3} {through:<6} changed {changed:>3}, killed at {outcome.killed_after:5.1f} s "
                      f"{'mid-run' if outcome.killed else 'after its end'}, repeat exit {outcome.repeat_code} in "
                      f"{outcome.repeat_seconds:5.1f} s, verify exit {verified.returncode}; {differences}", flush=True)
            print("totals: " + ", ".join(f"{name} {count}" for name, count in totals.items())
                  + f" (of {args.trials} trials)")
        finally:
            stop_luigid(luigid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
