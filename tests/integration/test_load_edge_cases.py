"""Awkward documents are loaded or quarantined as specified, counts reconcile, and a crash loses nothing."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal

import pytest
from bson import Decimal128, ObjectId, json_util
from pymongo import MongoClient

from pipeline.cli import main

pytestmark = pytest.mark.integration

DAY = dt.datetime(2026, 11, 20)


def insert(uri, collection, docs):
    database = MongoClient(uri).get_default_database()
    database[collection].create_index("updated_at")
    database[collection].insert_many(docs)


def message(**fields):
    doc = {"_id": ObjectId(), "conversation_id": ObjectId(), "client_id": "acme", "sender": "bot",
           "answer_id": None, "text": "hello", "created_at": DAY + dt.timedelta(hours=1),
           "updated_at": DAY + dt.timedelta(hours=1)}
    doc.update(fields)
    return doc


def test_awkward_documents_are_loaded_or_quarantined_and_counts_reconcile(local_env, capsys):
    region, uri = next(iter(local_env.mongo_uris.items()))
    loaded = {
        "unicode": message(text="Réinitialiser 🔑 日本語 — ok"),
        "decimal": message(confidence=Decimal128("0.8731")),
        "unknown_fields": message(experiment="v2", campaign={"id": 3, "tags": ["a", ["b", "c"]]}),
        "nested_arrays": message(meta={"path": [[1, 2], [3, [4, 5]]], "at": DAY}),
        "empty_text": message(text=""),
        "wrong_type": message(sender={"kind": "bot"}),  # drift: JSON text, original kept
        "too_precise": message(confidence=Decimal128("0.1234567")),  # drift: NULL, original kept
    }
    quarantined = {
        "oversized": message(text="x" * 70_000),
        "drift_too_large": message(sender={"blob": "y" * 70_000}),  # nor can its original be kept
    }
    insert(uri, "messages", [*loaded.values(), *quarantined.values()])

    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0

    with local_env.warehouse() as connection:
        rows = {r[0]: r[1:] for r in connection.execute(
            "select _id, text, confidence, meta, _extra, sender, _drift from raw.messages").fetchall()}
        audit = connection.execute("select extracted, quarantined, staged, inserted from raw.load_audit "
                                   "where collection = 'messages' and region = %s", (region,)).fetchone()
    assert set(rows) == {str(d["_id"]) for d in loaded.values()}
    assert rows[str(loaded["unicode"]["_id"])][0] == "Réinitialiser 🔑 日本語 — ok"
    assert rows[str(loaded["empty_text"]["_id"])][0] == ""  # empty string stays distinct from NULL
    assert rows[str(loaded["decimal"]["_id"])][1] == Decimal("0.8731")
    assert rows[str(loaded["unicode"]["_id"])][1] is None
    assert json.loads(rows[str(loaded["unknown_fields"]["_id"])][3]) == {
        "experiment": "v2", "campaign": {"id": 3, "tags": ["a", ["b", "c"]]}}
    assert json.loads(rows[str(loaded["nested_arrays"]["_id"])][2])["path"] == [[1, 2], [3, [4, 5]]]
    assert json.loads(rows[str(loaded["wrong_type"]["_id"])][4]) == {"kind": "bot"}
    assert rows[str(loaded["too_precise"]["_id"])][1] is None
    assert json_util.loads(rows[str(loaded["too_precise"]["_id"])][5]) == {"confidence": Decimal128("0.1234567")}
    assert audit == (9, 2, 7, 7)

    prefix = f"{local_env.storage_url}/raw/{region}/messages/dt=2026-11-20/0000-1440m"
    with gzip.open(f"{prefix}/quarantine.jsonl.gz", "rt", encoding="utf-8") as lines:
        reasons = {entry["_id"]: entry["reason"] for entry in map(json.loads, lines)}
    assert "over the 65535-byte limit" in reasons[str(quarantined["oversized"]["_id"])]
    assert "over the 65535-byte limit" in reasons[str(quarantined["drift_too_large"]["_id"])]

    capsys.readouterr()
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines()
                if row.startswith(f"{region} ") and "messages" in row)
    assert line.split()[-15:-10] == ["9", "7", "2", "ok,", "2"]
    assert line.endswith("quarantined: pipeline quarantine list --start '2026-11-20 00:00' --end '2026-11-21 00:00'")


CRASH_BETWEEN_COPY_AND_MERGE = textwrap.dedent("""
    import os, signal, sys
    from pipeline.warehouse.postgresql.driver import PostgresWarehouse

    copy_parts = PostgresWarehouse.copy_parts

    def copy_then_die(self, *args, **kwargs):
        rows = copy_parts(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies after COPY, before the merge
        return rows

    PostgresWarehouse.copy_parts = copy_then_die
    from pipeline.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_a_worker_killed_between_copy_and_merge_leaves_no_rows_and_the_rerun_completes(local_env):
    region, uri = next(iter(local_env.mongo_uris.items()))
    docs = [message(text=f"message {i}") for i in range(50)]
    insert(uri, "messages", docs)
    args = ["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler", "--workers", "1"]

    crashed = subprocess.run([sys.executable, "-c", CRASH_BETWEEN_COPY_AND_MERGE, *args],
                             env={**os.environ}, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    with local_env.warehouse() as connection:
        tables = {r[0] for r in connection.execute(
            "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        assert "raw.messages" in tables  # the run got as far as the warehouse
        assert connection.execute("select count(*) from raw.messages").fetchone()[0] == 0
        assert connection.execute("select count(*) from raw.load_audit where collection = 'messages' "
                                  "and region = %s", (region,)).fetchone()[0] == 0

    assert main(args) == 0
    with local_env.warehouse() as connection:
        assert connection.execute("select count(*), count(distinct _id) from raw.messages").fetchone() == (50, 50)


def test_two_versions_of_a_document_in_one_window_load_as_the_newest(local_env, tmp_path):
    """A document read twice in one window (updated while the window was scanned) is one row, the newest."""
    from pipeline.catalog import catalog
    from pipeline.config import parse_storage_url
    from pipeline.extract import extract_window
    from pipeline.load import load_window
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection
    from pipeline.windows import window_at

    source, window = catalog().source("messages"), window_at(DAY, 1440)
    first = message(text="first version")
    newer = {**first, "text": "newer version", "updated_at": first["updated_at"] + dt.timedelta(minutes=3)}
    store = ObjectStore(parse_storage_url(str(tmp_path / "lake")))
    manifest = extract_window([newer, first, message()], source, "us", window, store, part_rows=100,
                              part_bytes=2**20, compress_level=1)
    audit = {"region": "us", "collection": "messages", "window_start": window.start, "window_end": window.end,
             "extracted": 3, "quarantined": 0, "manifest_url": manifest["path"], "loaded_at": DAY}
    result = load_window(connection(), source, manifest, store, audit)
    assert (result.staged, result.inserted) == (3, 2)
    with local_env.warehouse() as warehouse:
        assert warehouse.execute("select text from raw.messages where _id = %s",
                                 (str(first["_id"]),)).fetchall() == [("newer version",)]


def test_updates_on_both_sides_of_the_merge_key_floor_replace_their_loaded_versions(local_env, tmp_path,
                                                                                    monkeypatch):
    """The merge matches keys up to the floor and above it (each in its key range) separately: loaded versions
    on both sides and at each bound are replaced, an older staged version never overwrites, new keys are
    inserted."""
    import pipeline.load
    from pipeline.catalog import catalog
    from pipeline.config import parse_storage_url
    from pipeline.extract import extract_window
    from pipeline.load import load_window
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection
    from pipeline.windows import window_at

    monkeypatch.setattr(pipeline.load, "PROBED_KEYS_MIN", 3)  # the floor is the third of ten keys, not the 10,000th
    monkeypatch.setattr(pipeline.load, "SPLIT_MAX_SHARE", 1.0)  # split whatever the estimates of so few rows
    chosen = []
    bounds_of = pipeline.load.merge_bounds
    monkeypatch.setattr(pipeline.load, "merge_bounds", lambda *args: chosen.append(bounds_of(*args)) or chosen[-1])
    source, store = catalog().source("messages"), ObjectStore(parse_storage_url(str(tmp_path / "lake")))
    ids = sorted(ObjectId() for _ in range(10))

    def extract(day: dt.datetime, documents: list[dict]) -> dict:
        return extract_window(documents, source, "us", window_at(day, 1440), store, part_rows=100,
                              part_bytes=2**20, compress_level=1)

    def load(day: dt.datetime, manifest: dict) -> None:
        window = window_at(day, 1440)
        load_window(connection(), source, manifest, store, {
            "region": "us", "collection": "messages", "window_start": window.start, "window_end": window.end,
            "extracted": manifest["extracted"], "quarantined": 0, "manifest_url": manifest["path"], "loaded_at": day})

    later = DAY + dt.timedelta(days=1)
    loaded_first = (0, 2, 5, 8, 9)  # the lowest key, the floor, two above it and the highest
    load(DAY, extract(DAY, [message(_id=ids[i], text="first") for i in loaded_first]))
    stale = extract(DAY, [message(_id=key, text="stale") for key in ids])  # read before "second"
    load(later, extract(later, [message(_id=key, text="second", updated_at=later + dt.timedelta(hours=1))
                                for key in ids]))
    load(DAY, stale)  # an earlier read than what is loaded: kept out
    with local_env.warehouse() as warehouse:
        rows = dict(warehouse.execute("select _id, text from raw.messages where region = 'us'").fetchall())
        replaced = warehouse.execute("select _id from raw.messages_replaced order by _id").fetchall()
    bounds = {"region": "us", "lowest": str(ids[0]), "key_floor": str(ids[2]), "highest": str(ids[9])}
    assert chosen[1:] == [bounds, bounds]  # both later loads matched in two ranges split at ids[2]
    assert rows == {str(key): "second" for key in ids}
    assert [row[0] for row in replaced] == [str(ids[i]) for i in loaded_first]


def test_a_lock_held_by_another_session_ends_the_wait_naming_it(local_env, luigi_settings, capsys):
    """Another session holds raw.messages (a migration, a forgotten `begin`): the load gives up after [warehouse]
    lock_timeout_seconds with one line naming that session, instead of waiting without end; the next run loads."""
    region, uri = next(iter(local_env.mongo_uris.items()))
    insert(uri, "messages", [message()])
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    luigi_settings("warehouse", "lock_timeout_seconds", "1")
    luigi_settings("retry", "base_delay_seconds", "0.01")
    with local_env.warehouse() as holder:
        holder.execute("set application_name = 'hand-migration'")
        holder.execute("begin")
        holder.execute("lock table raw.messages in access exclusive mode")
        holder_pid = holder.execute("select pg_backend_pid()").fetchone()[0]
        capsys.readouterr()
        started = time.monotonic()
        assert main(["backfill", "--rerun", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 1
        waited = time.monotonic() - started
        holder.execute("rollback")
    err = capsys.readouterr().err
    assert f"gave up waiting for a lock on raw.messages after [warehouse] lock_timeout_seconds: held raw.messages by " \
           f"session {holder_pid} (user " in err and "hand-migration" in err and "the next run retries" in err
    assert waited < 60
    assert main(["backfill", "--rerun", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0


def test_a_column_dropped_by_hand_is_named_and_never_added_back_empty(local_env, capsys):
    region, uri = next(iter(local_env.mongo_uris.items()))
    insert(uri, "messages", [message()])
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    with local_env.warehouse() as connection:
        connection.execute("alter table raw.messages drop column text")
    capsys.readouterr()
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "raw.messages.text was made by the pipeline and is gone from the warehouse" in out
    assert main(["backfill", "--start", "2026-11-19", "--end", "2026-11-20", "--local-scheduler"]) == 1
    err = capsys.readouterr().err
    assert "raw.messages.text was made by the pipeline and is gone" in err and len(err.strip().splitlines()) == 1
    with local_env.warehouse() as connection:
        columns = {name for (name,) in connection.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'messages'")}
    assert "text" not in columns  # not added back empty


def test_status_shows_a_lock_wait_while_it_lasts(local_env, tmp_path):
    region, uri = next(iter(local_env.mongo_uris.items()))
    insert(uri, "messages", [message()])
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    command = [sys.executable, "-m", "pipeline.cli"]
    with local_env.warehouse() as holder:
        holder.execute("begin")
        holder.execute("lock table raw.messages in exclusive mode")  # writers wait, readers (status) do not
        holder_pid = holder.execute("select pg_backend_pid()").fetchone()[0]
        backfill = subprocess.Popen([*command, "backfill", "--rerun", "--start", "2026-11-20", "--end", "2026-11-21",
                                     "--local-scheduler", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        deadline, shown = time.monotonic() + 60, []
        while time.monotonic() < deadline and not shown:
            status = subprocess.run([*command, "status"], capture_output=True, text=True, timeout=60)
            shown = [line for line in status.stdout.splitlines() if line.startswith("lock wait: ")]
        holder.execute("rollback")
    out, err = backfill.communicate(timeout=120)
    assert backfill.returncode == 0, err
    assert shown and f"for a lock on raw.messages held by session {holder_pid} (user " in shown[0]
