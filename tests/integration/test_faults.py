"""Faults and hostile input: nothing blocks, nothing is silently missing, no input crashes a command."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.extract import MANIFEST_VERSION
from pipeline.windows import utcnow

pytestmark = pytest.mark.integration


def test_sync_with_now_in_the_future_never_marks_an_open_window_done(local_env, capsys, luigi_settings):
    luigi_settings("windows", "max_windows_per_run", "2")
    assert main(["sync", "--now", "2099-01-01T00:00", "--local-scheduler"]) == 0
    assert "--now is in the future" in capsys.readouterr().err
    with local_env.warehouse() as connection:
        (latest,) = connection.execute("select max(window_end) from analytics.transform_audit").fetchone()
    assert latest is not None and latest <= utcnow() - dt.timedelta(minutes=5)


@pytest.mark.parametrize("argv, code, message", [
    (["backfill", "--start", "0001-01-01", "--end", "9999-01-01", "--local-scheduler"], 1,
     "more than [windows] max_windows_per_command (1,000); narrow the range or pass --force"),
    (["verify", "--start", "1900-01-01", "--end", "2026-01-01"], 1, "pass --force"),
    (["verify", "--start", "2026-11-20", "--end", "2026-11-19"], 1, "--end must be after --start"),
    (["export", "run", "--start", "2026-11-10", "--end", "2026-11-01", "--local-scheduler"], 1,
     "--end must be after --start"),
])
def test_unbounded_or_reversed_ranges_are_one_line_errors(local_env, capsys, argv, code, message):
    assert main(argv) == code
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1 and "unexpected" not in error


@pytest.mark.parametrize("argv, message", [
    (["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--workers", "0"],
     "argument --workers: 0 is not between 1"),
    (["scheduler", "--port", "99999"], "argument --port: 99999 is not between 1 and 65535"),
    (["export", "run", "--catch-up-days", "-3"], "argument --catch-up-days: -3 is not between 0"),
])
def test_bad_numbers_name_the_argument(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_an_impossible_port_names_the_setting(local_env, monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_SOURCES", "us=mongodb://127.0.0.1:99999/ada")
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 2
    assert capsys.readouterr().err.strip() == (
        "pipeline: configuration error: PIPELINE_SOURCES: port '99999' of region 'us' is not a TCP port (1..65535) "
        "(expected region=mongodb://host:port/database pairs separated by commas)")


def test_output_closed_early_ends_quietly(local_env):
    import subprocess
    import sys

    # `true` leaves at once, before the command writes a byte: every write meets a closed pipe.
    shell = f"set -o pipefail; {sys.executable} -m pipeline.cli status | true"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_write_that_fails_leaves_no_temporary_file_and_publishes_nothing(s3_env, tmp_path, monkeypatch):
    import tempfile

    from pipeline.catalog import catalog
    from pipeline.extract import extract_window
    from pipeline.storage import ObjectStore
    from pipeline.windows import window_at

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where Luigi's S3 writes stage their data

    def documents():
        yield {"_id": "a" * 24, "updated_at": dt.datetime(2026, 11, 20, 1)}
        raise ConnectionError("source went away mid-window")

    store = ObjectStore.from_config()
    with pytest.raises(ConnectionError) as failure:  # held, as Luigi holds a failed task's traceback
        extract_window(documents(), catalog().source("answers"), "us", window_at(dt.datetime(2026, 11, 20), 1440),
                       store, part_rows=10, part_bytes=2**20, compress_level=1)
    assert failure.traceback and list(tmp_path.iterdir()) == []
    assert not store.exists("raw/us/answers/dt=2026-11-20/0000-1440m/part-00000.csv.gz")


def test_a_warehouse_that_refuses_while_it_restarts_is_retried(local_env, tmp_path):
    """Connection refused on reconnect is transient: the retry after the server is back succeeds; a database
    that does not exist is not, and fails at once."""
    from urllib.parse import parse_qs, urlsplit

    from pipeline.config import parse_warehouse_url
    from pipeline.retry import with_retries
    from pipeline.warehouse import WarehouseError
    from pipeline.warehouse.postgresql.driver import PostgresWarehouse

    parts = urlsplit(local_env.warehouse_url)
    socket_dir = Path(parse_qs(parts.query)["host"][0])
    down = parts._replace(query=f"host={tmp_path}").geturl()  # the server's socket is not there: refused
    waits = []

    def server_comes_back(seconds: float) -> None:
        waits.append(seconds)
        for socket_file in socket_dir.glob(".s.PGSQL.*"):
            (tmp_path / socket_file.name).symlink_to(socket_file)

    warehouse = with_retries(lambda: PostgresWarehouse(parse_warehouse_url(down)), attempts=3, base_delay=0.01,
                             what="connect", sleep=server_comes_back)
    assert warehouse.query("select 1") == [(1,)] and waits == [0.01]
    warehouse.close()

    missing = parts._replace(path="/no_such_database").geturl()
    waits.clear()
    with pytest.raises(WarehouseError, match="no_such_database"):
        with_retries(lambda: PostgresWarehouse(parse_warehouse_url(missing)), attempts=3, base_delay=0.01,
                     what="connect", sleep=waits.append)
    assert waits == []


def backfilled_day(env, conversations: int) -> str:
    """Demo data for 2026-11-20 in the first region, backfilled; returns the region."""
    from pymongo import MongoClient

    from pipeline.local.demo_data import DemoDataSpec, seed_database

    region, uri = next(iter(env.mongo_uris.items()))
    seed_database(MongoClient(uri).get_default_database(),
                  DemoDataSpec(region=region, start=dt.datetime(2026, 11, 20), days=1,
                               conversations_per_day=conversations, seed=4))
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    return region


def test_a_window_extracted_by_an_older_format_is_extracted_again(local_env):
    import json

    region = backfilled_day(local_env, conversations=20)
    args = ["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]
    manifest = Path(local_env.storage_url) / f"raw/{region}/messages/dt=2026-11-20/0000-1440m/manifest.json"
    old = {**json.loads(manifest.read_text()), "version": 1}
    manifest.write_text(json.dumps(old))  # as the extract before the NUL rule wrote it; its load failed
    with local_env.warehouse() as connection:
        connection.execute("delete from raw.load_audit where collection = 'messages'")
        connection.execute("delete from analytics.transform_audit")
    assert main(args) == 0  # a plain run, no --rerun
    again = json.loads(manifest.read_text())
    assert again["version"] == MANIFEST_VERSION and again["created_at"] > old["created_at"]


@pytest.mark.parametrize("damage, message", [
    ("cut_part", "with another checksum than the"),
    ("truncate_bytes", "with another checksum than the"),
    ("drop_parts", "staged 0 rows where the extract wrote"),
])
def test_a_part_cut_short_or_missing_fails_the_load_loudly(local_env, capsys, damage, message):
    import gzip
    import json

    region = backfilled_day(local_env, conversations=40)
    args = ["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]
    folder = Path(local_env.storage_url) / f"raw/{region}/messages/dt=2026-11-20/0000-1440m"
    manifest = json.loads((folder / "manifest.json").read_text())
    part = Path(local_env.storage_url) / manifest["parts"][0]["path"]
    if damage == "cut_part":  # still valid gzip, half the rows
        lines = gzip.decompress(part.read_bytes()).splitlines(keepends=True)
        part.write_bytes(gzip.compress(b"".join(lines[: len(lines) // 2])))
    elif damage == "truncate_bytes":  # an upload cut off: no longer valid gzip
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    else:
        (folder / "manifest.json").write_text(json.dumps({**manifest, "parts": []}))
    with local_env.warehouse() as connection:
        connection.execute("delete from raw.load_audit where collection = 'messages'")
        connection.execute("delete from analytics.transform_audit")
    capsys.readouterr()
    assert main(args) == 1
    assert message in capsys.readouterr().err


def test_documents_without_a_date_cursor_are_counted_and_recorded_by_verify(local_env, capsys):
    import gzip
    import json

    from bson import ObjectId
    from pymongo import MongoClient

    region, uri = next(iter(local_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    database.messages.create_index("updated_at")
    dated = {"_id": ObjectId(), "sender": "bot", "updated_at": dt.datetime(2026, 11, 20, 3)}
    typo = {"_id": ObjectId(), "sender": "bot", "updated_at": dt.datetime(2026, 11, 20, 4)}
    undated = [{"_id": ObjectId(), "sender": "bot"}, {"_id": ObjectId(), "sender": "bot", "updated_at": "2026-11-20"},
               {"_id": ObjectId(), "sender": "bot", "updated_at": 1763600000}]
    database.messages.insert_many([dated, typo, *undated])
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    # Updated with a year typed wrong: its window will not close; the loaded version is stale meanwhile.
    database.messages.update_one({"_id": typo["_id"]}, {"$set": {"updated_at": dt.datetime(9999, 1, 1)}})
    capsys.readouterr()
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-21"]) == 1
    out, err = capsys.readouterr()
    assert f"{region}       messages       4 document(s) whose updated_at is no date or in the future, so no window " \
           f"reads them" in out
    assert f"1 no longer in this window of the source ({typo['_id']})" not in out
    assert "moved to [9999-01-01 00:00, 9999-01-02 00:00), which has not closed (a cursor in the future: fix it at " \
           "the source)" in out
    assert err.strip() == "pipeline: error: 1 window(s) do not match the source; 4 document(s) have no date or a " \
                          "future one in their cursor field: fix them at the source"
    record = Path(local_env.storage_url) / f"raw/{region}/messages/undated.jsonl.gz"
    with gzip.open(record, "rt") as lines:
        entries = sorted((entry["key"], entry["reason"]) for entry in map(json.loads, lines))
    assert entries == sorted([(str(undated[0]["_id"]), "updated_at is missing"),
                              (str(undated[1]["_id"]), "updated_at is of type str, not a date"),
                              (str(undated[2]["_id"]), "updated_at is of type int, not a date"),
                              (str(typo["_id"]), "updated_at 9999-01-01 00:00 is in the future")])

    database.messages.update_one({"_id": typo["_id"]}, {"$set": {"updated_at": dt.datetime(2026, 11, 20, 5)}})
    assert main(["backfill", "--rerun", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 0
    database.messages.delete_many({"_id": {"$in": [d["_id"] for d in undated]}})  # fixed at the source
    assert main(["verify", "--start", "2026-11-20", "--end", "2026-11-21"]) == 0
    assert not record.exists()  # the record says what verify found last


def test_a_failed_run_names_its_log_and_keeps_tracebacks_there(local_env, capsys, luigi_settings, tmp_path):
    import json

    region = backfilled_day(local_env, conversations=20)
    luigi_settings("logs", "dir", str(tmp_path / "logs"))
    manifest = Path(local_env.storage_url) / f"raw/{region}/messages/dt=2026-11-20/0000-1440m/manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "parts": []}))
    with local_env.warehouse() as connection:
        connection.execute("delete from raw.load_audit where collection = 'messages'")
        connection.execute("delete from analytics.transform_audit")
    capsys.readouterr()
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler"]) == 1
    err = capsys.readouterr().err
    (log,) = (tmp_path / "logs").glob("*-backfill-*.log")
    assert f"pipeline: the full log is {log}" in err and "Traceback" not in err
    assert "failed: LoadWindow(" in err and "Traceback" in log.read_text()
