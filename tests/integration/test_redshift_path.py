"""The Redshift path end to end: the real `RedshiftWarehouse` driver, the Redshift dialect's DDL and templates,
COPY ... MANIFEST from the S3 server, stl_load_errors and query groups, over the local PostgreSQL through the
adapter in tests/redshift_adapter.py (which emulates only what PostgreSQL lacks; its docstring says what)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import threading
from urllib.parse import urlsplit

import psycopg
import pytest
import redshift_connector
from pymongo import MongoClient

from pipeline.cli import main
from pipeline.config import parse_warehouse_url
from pipeline.storage import ObjectStore
from pipeline.warehouse import WarehouseError, WarehouseUnavailable, is_transient
from pipeline.warehouse.redshift.driver import CopyAuthorization, RedshiftWarehouse
from tests.integration.test_end_to_end import assert_matches_documents, seed
from tests.redshift_adapter import RedshiftOnPostgres

pytestmark = pytest.mark.integration


@pytest.fixture
def redshift_env(s3_env, monkeypatch, luigi_settings):
    """s3_env with PIPELINE_WAREHOUSE_URL a redshift:// URL; redshift_connector.connect reaches the test's
    PostgreSQL database through the adapter. Yields (env, adapters opened)."""
    database = urlsplit(s3_env.warehouse_url).path.strip("/")
    opened: list[RedshiftOnPostgres] = []

    def connect(host: str, port: int, database: str, user: str, password: str, **_: object) -> RedshiftOnPostgres:
        assert (host, port, user, password) == ("cluster.test", 5439, "loader", "pa:ss@word")
        adapter = RedshiftOnPostgres(s3_env.warehouse_url)
        opened.append(adapter)
        return adapter

    monkeypatch.setattr(redshift_connector, "connect", connect)
    monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", f"redshift://loader:pa%3Ass%40word@cluster.test:5439/{database}")
    luigi_settings("warehouse", "iam_role", "arn:aws:iam::123456789012:role/redshift-copy")
    yield s3_env, opened
    for adapter in opened:
        adapter.close()


def cells(path) -> list[tuple]:
    from openpyxl import load_workbook

    return [tuple(row) for row in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]


def test_backfill_update_verify_and_export_run_on_the_redshift_driver(redshift_env, capsys, tmp_path,
                                                                       luigi_settings):
    env, opened = redshift_env
    seed(env, per_day=40, days=2)
    args = ["--start", "2026-11-20", "--end", "2026-11-22"]
    assert main(["backfill", *args, "--local-scheduler", "--workers", "1"]) == 0
    assert_matches_documents(env)

    region, uri = next(iter(env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    for conversation in database.conversations.find({"language": "fr"}):  # a newer version of each, same days
        database.conversations.update_one({"_id": conversation["_id"]}, {"$set": {
            "language": "de", "updated_at": conversation["updated_at"] + dt.timedelta(milliseconds=1)}})
    database.messages.delete_one({"sender": "bot"})
    assert main(["backfill", "--rerun", *args, "--local-scheduler", "--workers", "1"]) == 0
    assert main(["reconcile", *args]) == 0
    assert_matches_documents(env)
    assert main(["verify", *args]) == 0

    capsys.readouterr()
    # Streamed through a cursor, then with a threshold of one row: the conversations report, which the planner
    # expects to be longer, is UNLOADed to S3 and read back (the engagement summary too when its estimate
    # exceeds one row); the files are the same either way.
    with env.warehouse() as connection:  # the estimates come from statistics, as Redshift's auto-analyze keeps them
        connection.execute("analyze analytics.conversations")
    luigi_settings("exports", "batch_rows", "2")  # several FETCHes per result
    for threshold, out in (("0", "streamed"), ("1", "unloaded")):
        luigi_settings("exports", "unload_above_rows", threshold)
        for name, date in (("acme_weekly_engagement", "2026-11-23"), ("acme_daily_conversations", "2026-11-21")):
            assert main(["export", "preview", name, "--date", date, "--out", str(tmp_path / out)]) == 0
            assert "rows ->" in capsys.readouterr().out
    assert 1 <= len([url for adapter in opened for url in adapter.unloads]) <= 2
    (streamed,), (unloaded,) = ((tmp_path / name).rglob("*.xlsx") for name in ("streamed", "unloaded"))
    assert cells(streamed) == cells(unloaded) and len(cells(streamed)) > 2
    (streamed,), (unloaded,) = ((tmp_path / name).rglob("*.csv") for name in ("streamed", "unloaded"))
    assert streamed.read_bytes() == unloaded.read_bytes() and len(streamed.read_text().splitlines()) > 2
    assert ObjectStore.from_config().folders("unload") == []  # the staged parts are removed
    assert any(url.endswith("/copy.manifest") for adapter in opened for url in adapter.copies)
    assert all(adapter.query_groups[0] == "etl" for adapter in opened)  # every session labelled for WLM
    assert ["exports", "etl"] in [adapter.query_groups[1:3] for adapter in opened]  # around the export's query
    # Physical design: the tables were created with DISTKEY/SORTKEY (left out on PostgreSQL, recorded).
    with env.warehouse() as connection:
        assert connection.execute("select count(*) from raw.messages").fetchone()[0] > 0


def test_a_bad_value_fails_the_copy_naming_the_file_line_and_column(redshift_env):
    env, _ = redshift_env
    url = parse_warehouse_url("redshift://loader:pa%3Ass%40word@cluster.test:5439/x")
    warehouse = RedshiftWarehouse.connect(url, iam_role="arn:aws:iam::123456789012:role/redshift-copy")
    store = ObjectStore.from_config()
    good, bad = b'"eu","2026-11-20 10:00:00"\n', b'"eu","2026-11-20 10:00:00"\n"eu","half past"\n'
    parts = []
    for index, data in enumerate((good, bad)):
        path = f"copy-test/part-{index}.csv.gz"
        store.write_bytes(path, gzip.compress(data))
        parts.append({"path": path, "bytes": len(gzip.compress(data))})
    warehouse.execute("create table public.copy_probe (region varchar(8), at timestamp)")
    with pytest.raises(WarehouseError) as error, warehouse.transaction():
        warehouse.copy_parts("public.copy_probe", ["region", "at"],
                             {"path": "copy-test/manifest.json", "parts": parts}, store)
    assert str(error.value).startswith(f"COPY into public.copy_probe failed at {store.url(parts[1]['path'])} "
                                       f"line 2, column at: invalid input syntax for type timestamp")
    assert "'half past'" in str(error.value)
    assert warehouse.query("select count(*) from public.copy_probe") == [(0,)]  # the whole COPY rolled back
    manifest = json.loads(store.read_bytes("copy-test/copy.manifest"))
    assert [entry["meta"]["content_length"] for entry in manifest["entries"]] == [p["bytes"] for p in parts]
    warehouse.close()


def test_a_serialization_failure_is_redshift_error_1023_and_transient(redshift_env):
    env, _ = redshift_env
    url = parse_warehouse_url("redshift://loader:pa%3Ass%40word@cluster.test:5439/x")
    first, second = (RedshiftWarehouse.connect(url, iam_role="arn:aws:iam::1:role/r") for _ in range(2))
    first.execute("create table public.conflict_probe (n bigint)")
    both_read = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(warehouse: RedshiftWarehouse, n: int) -> None:
        try:
            with warehouse.transaction():
                warehouse.query("select count(*) from public.conflict_probe")
                both_read.wait(timeout=10)
                warehouse.execute("insert into public.conflict_probe select %(n)s from public.conflict_probe "
                                  "union all select %(n)s", {"n": n})
        except Exception as error:  # noqa: BLE001 - the test inspects it
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (error,) = errors  # one writer won, the other got Redshift's error 1023
    assert "1023: Serializable isolation violation" in str(error) and is_transient(error)
    assert not is_transient(redshift_connector.error.ProgrammingError({"S": "ERROR", "C": "42P01", "M": "x"}))
    first.close()
    second.close()


def test_readers_are_not_blocked_by_a_load_in_progress(redshift_env):
    env, _ = redshift_env
    seed(env, per_day=10, days=1)
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler",
                 "--workers", "1"]) == 0
    url = parse_warehouse_url("redshift://loader:pa%3Ass%40word@cluster.test:5439/x")
    writer = RedshiftWarehouse.connect(url, iam_role="arn:aws:iam::1:role/r")
    with pytest.raises(RuntimeError, match="roll back"), writer.transaction():
        writer.run_template("lock.sql", tables=["raw.messages"])  # what a merge takes
        writer.execute("delete from raw.messages")
        with psycopg.connect(env.warehouse_url, autocommit=True) as reader:
            reader.execute("set statement_timeout = '2s'")  # a blocked reader would fail here
            assert reader.execute("select count(*) from raw.messages").fetchone()[0] > 0
        raise RuntimeError("roll back")
    writer.close()


def test_connection_failures_are_classified(monkeypatch, luigi_settings):
    def refuse(**_: object) -> None:
        raise redshift_connector.InterfaceError("communication error: connection refused")

    monkeypatch.setattr(redshift_connector, "connect", refuse)
    url = parse_warehouse_url("redshift://loader:pw@cluster.test:5439/db")
    with pytest.raises(WarehouseUnavailable) as error:
        RedshiftWarehouse.connect(url, iam_role="arn:aws:iam::1:role/r")
    assert error.value.transient and "pw" not in str(error.value)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with pytest.raises(Exception, match="IAM role"):
        CopyAuthorization.from_environment("")


def test_a_broken_session_is_replaced_and_a_failed_error_lookup_still_reports_the_copy(redshift_env):
    from pipeline.warehouse import connection

    env, opened = redshift_env
    first = connection()
    opened[-1].pg.close()  # the network drops the session
    with pytest.raises(redshift_connector.InterfaceError):
        first.query("select 1")
    assert not first.usable()
    with pytest.raises(WarehouseError, match="broke earlier"):
        first.query("select 1")
    second = connection()  # a fresh session, labelled again
    assert second is not first and second.query("select 1") == [(1,)] and opened[-1].query_groups == ["etl"]

    with psycopg.connect(env.warehouse_url, autocommit=True) as admin:
        admin.execute("drop table public.stl_load_errors")  # the lookup fails: the COPY's own error is reported
    store = ObjectStore.from_config()
    store.write_bytes("copy-test/part-0.csv.gz", gzip.compress(b'"eu","x"\n'))
    second.execute("create table public.copy_probe (region varchar(8), at timestamp)")
    with pytest.raises(WarehouseError, match=r"^COPY into public.copy_probe failed: .*Load into table 'copy_probe'"):
        second.copy_parts("public.copy_probe", ["region", "at"], {"path": "copy-test/manifest.json", "parts": [
            {"path": "copy-test/part-0.csv.gz", "bytes": len(gzip.compress(b'"eu","x"\n'))}]}, store)


def test_copy_credentials_and_url_checks():
    keys = CopyAuthorization(access_key_id="AKIA1", secret_access_key="s'cret", session_token="tok")
    assert keys.clause() == "access_key_id 'AKIA1' secret_access_key 's''cret' session_token 'tok'"
    with pytest.raises(Exception, match="needs a host and a database"):
        RedshiftWarehouse.connect(parse_warehouse_url("redshift://loader:pw@cluster.test:5439/"))


def test_doctor_checks_the_project_sql_for_redshift(redshift_env, capsys, tmp_path, monkeypatch):
    import shutil

    from pipeline.sqlfiles import SQL_DIR_ENV, sql_dir

    main(["doctor", "--local-scheduler"])
    assert re.search(r"^ok +sql for redshift +nothing redshift rejects in \d+ files", capsys.readouterr().out,
                     re.MULTILINE)
    scratch = tmp_path / "sql"
    shutil.copytree(sql_dir(), scratch)
    query = scratch / "exports" / "daily_client_conversations.sql"
    query.write_text(query.read_text() + "\n-- a late edit\n;select 1::int\n")
    monkeypatch.setenv(SQL_DIR_ENV, str(scratch))
    assert main(["doctor", "--local-scheduler"]) == 1
    line = next(line for line in capsys.readouterr().out.splitlines() if "sql for redshift" in line)
    assert line.startswith("FAIL") and "exports/daily_client_conversations.sql:" in line and ":: cast" in line


def test_a_stream_left_by_a_failing_reader_leaves_the_session_usable(redshift_env):
    """The cursor is closed (or rolled back) when its reader fails; the next stream, with other columns, reads
    its own rows; values and %% reach DECLARE as Redshift reads literals."""
    url = parse_warehouse_url("redshift://loader:pa%3Ass%40word@cluster.test:5439/x")
    warehouse = RedshiftWarehouse.connect(url, iam_role="arn:aws:iam::1:role/r")
    with pytest.raises(RuntimeError, match="reader failed"), \
            warehouse.stream("select n from generate_series(1, 10) as n", {}, 3) as (columns, batches):
        assert columns == ["n"] and next(batches) == [(1,), (2,), (3,)]
        raise RuntimeError("reader failed")
    with warehouse.stream("select 'x' as letter, 2 as two where %(text)s = 'it''s 100%%'", {"text": "it's 100%"},
                          1000) as (columns, batches):
        assert columns == ["letter", "two"] and list(batches) == [[("x", 2)]]
    assert warehouse.query("select 1") == [(1,)]
    warehouse.close()


def test_a_part_swapped_for_another_of_the_same_length_and_rows_is_refused(redshift_env):
    import hashlib

    env, opened = redshift_env
    url = parse_warehouse_url("redshift://loader:pa%3Ass%40word@cluster.test:5439/x")
    warehouse = RedshiftWarehouse.connect(url, iam_role="arn:aws:iam::123456789012:role/redshift-copy")
    store = ObjectStore.from_config()
    written, swapped = (gzip.compress(f'"{region}","2026-11-20 10:00:00"\n'.encode(), mtime=0)
                        for region in ("eu", "us"))
    assert len(written) == len(swapped) and written != swapped
    path = "copy-test/part-swapped.csv.gz"
    store.write_bytes(path, swapped)  # after the extract listed `written`
    part = {"path": path, "bytes": len(written), "rows": 1, "sha256": hashlib.sha256(written).hexdigest()}
    warehouse.execute("create table public.swap_probe (region varchar(8), at timestamp)")
    with pytest.raises(WarehouseError, match="with another checksum than the"), warehouse.transaction():
        warehouse.copy_parts("public.swap_probe", ["region", "at"], {"path": "copy-test/m.json", "parts": [part]},
                             store)
    assert not [url for adapter in opened for url in adapter.copies]  # refused before any COPY
    warehouse.close()


def test_a_model_change_and_a_full_refresh_run_on_the_redshift_driver(redshift_env, project):
    from tests.integration.test_transform import RAW_DAILY_METRICS, add_bot_messages_column, rows

    env, _ = redshift_env
    seed(env, per_day=30, days=2)
    args = ["--start", "2026-11-20", "--end", "2026-11-22", "--local-scheduler", "--workers", "1"]
    assert main(["backfill", *args]) == 0
    add_bot_messages_column(project)
    assert main(["transform", *args]) == 0
    metrics = ("select metric_date, region, client_id, \"language\", device, platform, conversations, messages, "
               "bot_messages from analytics.daily_conversation_metrics")
    assert rows(env, metrics) == rows(env, RAW_DAILY_METRICS)
    assert main(["transform", "--full-refresh", "--model", "daily_conversation_metrics", *args[-3:]]) == 0
    assert rows(env, metrics) == rows(env, RAW_DAILY_METRICS)
    assert rows(env, "select model, row_count > 0 from analytics.model_refreshes") == [
        ("daily_conversation_metrics", True)]
    assert main(["verify", *args[:4]]) == 0
