"""Runs killed (SIGKILL, the whole process group) at random moments, directly and through luigid: repeating the
command leaves the warehouse equal to the source, document by document, and its models right (issue 19).
The seed is printed; CHAOS_SEED repeats a run. bench/bench_chaos.py is the longer soak."""

from __future__ import annotations

import datetime as dt
import os
import random
import time

import pytest
from pymongo import MongoClient

from pipeline.local.demo_data import DemoDataSpec, seed_database
from tests.chaos import change_documents, compare, killed_then_repeated, pipeline_command, run
from tests.integration.expectations import documents, expected_models, warehouse_models
from tests.luigid import start_luigid, stop_luigid

pytestmark = pytest.mark.integration

START, END = dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 22)


@pytest.fixture
def quick_luigid(tmp_path):
    """The real luigid (`pipeline scheduler`), told a worker is dead after 3 s without a ping instead of 60."""
    operator = tmp_path / "luigid-operator.cfg"
    operator.write_text("[scheduler]\nworker_disconnect_delay = 3\n")
    process, url = start_luigid(tmp_path / "luigid", operator=str(operator))
    yield url
    stop_luigid(process)


def test_killed_runs_repeated_leave_the_warehouse_equal_to_the_source(local_env, quick_luigid, tmp_path):
    seed = int(os.environ.get("CHAOS_SEED") or time.time())
    print(f"CHAOS_SEED={seed}")
    rng = random.Random(seed)
    for number, (region, uri) in enumerate(local_env.mongo_uris.items(), start=1):
        seed_database(MongoClient(uri).get_default_database(),
                      DemoDataSpec(region=region, start=START, days=2, conversations_per_day=25, seed=number))
    settings = tmp_path / "chaos.cfg"
    settings.write_text(f"[core]\nscheduler_url = {quick_luigid}\n[held_wait]\npoll_seconds = 1\n")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(settings)}
    windows = ["--window-minutes", "180", "--workers", "2"]
    trials = []
    for day in range(2):  # each day's first run killed, directly
        first = START + dt.timedelta(days=day)
        trials.append(killed_then_repeated(pipeline_command(
            "backfill", "--start", f"{first:%Y-%m-%d}", "--end", f"{first + dt.timedelta(days=1):%Y-%m-%d}",
            *windows, "--local-scheduler"), env, rng, longest=5))
    range_args = ["--start", f"{START:%Y-%m-%d}", "--end", f"{END:%Y-%m-%d}"]
    for through in ("--local-scheduler", "luigid"):  # documents changed (some backwards), re-read, killed again
        change_documents(local_env.mongo_uris, START, END, rng, count=5)
        trials.append(killed_then_repeated(pipeline_command(
            "backfill", "--rerun", *range_args, *windows, *([through] if through != "luigid" else [])), env, rng,
            longest=6))

    assert [trial.repeat_code for trial in trials] == [0] * len(trials), trials
    with local_env.warehouse() as connection:
        differences = compare(local_env.mongo_uris, connection, START, END)
        models = warehouse_models(connection)
    assert differences.none, f"CHAOS_SEED={seed}: {differences}"
    expected = expected_models({region: documents(uri) for region, uri in local_env.mongo_uris.items()})
    assert models == expected, f"CHAOS_SEED={seed}: the models differ from the documents"
    verified = run(pipeline_command("verify", *range_args, "--window-minutes", "180"), env)
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
    print(f"{sum(t.killed for t in trials)} of {len(trials)} runs killed mid-way; repeats took "
          f"{', '.join(f'{t.repeat_seconds:.0f}' for t in trials)} s")
