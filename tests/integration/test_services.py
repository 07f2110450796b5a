"""Each local service really starts, answers one round trip with its real client, and really stops."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pymongo
import pytest

from pipeline.local.services import (
    FAIL_REPLY,
    LocalStack,
    ServiceError,
    local_stack,
    s3_client,
    start_mongo,
    start_postgres,
    with_database,
)

pytestmark = pytest.mark.integration

BUCKET = "ada-lake-test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # One stack for the round trips: starting it costs about 2.5 s.
    with local_stack(tmp_path_factory.mktemp("stack"), s3_bucket=BUCKET, smtp=True) as started:
        yield started


def _refused(port: int) -> bool:
    """Whether connecting to 127.0.0.1:port is refused (nothing listens)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _send(stack: LocalStack, subject: str) -> None:
    """Send one small message to the stack's SMTP server with smtplib."""
    assert stack.smtp is not None
    message = EmailMessage()
    message["From"] = "pipeline@example.test"
    message["To"] = "analysts@example.test"
    message["Subject"] = subject
    message.set_content("rows loaded: 42\n")
    # local_hostname: skip smtplib's getfqdn() lookup, which can stall on a host without DNS.
    with smtplib.SMTP(stack.smtp.host, stack.smtp.port, local_hostname="localhost", timeout=10) as client:
        client.send_message(message)


def test_env_points_the_pipeline_at_the_stack(stack: LocalStack) -> None:
    env = stack.env()
    assert stack.s3 is not None
    assert env["PIPELINE_SOURCES"] == f"us={stack.mongo_uris['us']},eu={stack.mongo_uris['eu']}"
    assert stack.mongo_uris["us"].endswith("/ada_us") and stack.mongo_uris["eu"].endswith("/ada_eu")
    assert env["PIPELINE_WAREHOUSE_URL"] == stack.postgres_url
    assert env["PIPELINE_STORAGE_URL"] == f"s3://{BUCKET}/lake"
    assert env["AWS_ENDPOINT_URL_S3"] == stack.s3.endpoint_url
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_DEFAULT_REGION"]) == (
        "testing", "testing", "us-east-1"
    )


def test_mongo_round_trip_per_region(stack: LocalStack) -> None:
    for region, uri in stack.mongo_uris.items():
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            db = client.get_default_database()
            assert db.name == f"ada_{region}"
            marker = uuid.uuid4().hex
            db.orders.insert_one({"marker": marker, "region": region, "amount": 12.5})
            found = db.orders.find_one({"marker": marker}, {"_id": 0})
            assert found == {"marker": marker, "region": region, "amount": 12.5}
    if stack.mongo["us"] is not None and stack.mongo["eu"] is not None:
        assert stack.mongo["us"].uri != stack.mongo["eu"].uri  # one server per region


def test_postgres_round_trip(stack: LocalStack) -> None:
    table = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as conn:
        if not os.environ.get("PIPELINE_TEST_POSTGRES_URL"):  # started here, so the database is ours
            assert conn.execute("SELECT current_database()").fetchone() == ("analytics",)
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL)")
        try:
            conn.execute(f"INSERT INTO {table} VALUES (1, 'ada'), (2, 'grace')")
            rows = conn.execute(f"SELECT id, name FROM {table} ORDER BY id").fetchall()
        finally:
            conn.execute(f"DROP TABLE {table}")
    assert rows == [(1, "ada"), (2, "grace")]


def test_s3_round_trip(stack: LocalStack) -> None:
    assert stack.s3 is not None
    client = s3_client(stack.s3.endpoint_url)
    client.put_object(Bucket=BUCKET, Key="lake/orders/part-0000.jsonl.gz", Body=b"\x1f\x8bpayload")
    body = client.get_object(Bucket=BUCKET, Key="lake/orders/part-0000.jsonl.gz")["Body"].read()
    assert body == b"\x1f\x8bpayload"
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == [BUCKET]


def test_smtp_keeps_messages_and_saves_eml(stack: LocalStack, tmp_path: Path) -> None:
    assert stack.smtp is not None
    before = len(stack.smtp.messages)
    _send(stack, "Nightly load: OK / 42 rows")
    assert len(stack.smtp.messages) == before + 1
    received = stack.smtp.messages[-1]
    assert received["Subject"] == "Nightly load: OK / 42 rows"
    assert received["To"] == "analysts@example.test"
    assert received.get_content() == "rows loaded: 42\n"

    paths = stack.smtp.save_eml(tmp_path / "mail")
    assert len(paths) == before + 1
    assert paths[-1].name == f"{before + 1:03d}-nightly-load-ok-42-rows.eml"
    saved = paths[-1].read_bytes()
    assert b"Subject: Nightly load: OK / 42 rows\r\n" in saved and b"rows loaded: 42\r\n" in saved


def test_smtp_fail_next_refuses_once(stack: LocalStack) -> None:
    assert stack.smtp is not None
    before = len(stack.smtp.messages)
    stack.smtp.fail_next(1)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(stack, "refused")
    assert refused.value.smtp_code == 451
    assert refused.value.smtp_error == FAIL_REPLY.removeprefix("451 ").encode()
    _send(stack, "accepted")
    assert [m["Subject"] for m in stack.smtp.messages[before:]] == ["accepted"]


def test_mongo_stop_frees_the_port_and_keeps_data(tmp_path: Path) -> None:
    service = start_mongo(tmp_path / "mongo")
    port = int(service.uri.rsplit(":", 1)[1])
    with pymongo.MongoClient(service.uri) as client:
        client.ada_us.kept.insert_one({"_id": 1})
    service.stop()
    service.stop()  # idempotent
    assert _refused(port)
    assert (tmp_path / "mongo" / "secantusd.log").exists()

    restarted = start_mongo(tmp_path / "mongo")  # same storage, new port
    try:
        with pymongo.MongoClient(restarted.uri) as client:
            assert client.ada_us.kept.find_one() == {"_id": 1}
    finally:
        restarted.stop()


def test_mongo_start_stops_a_server_left_by_a_dead_owner(tmp_path: Path) -> None:
    leftover = start_mongo(tmp_path / "mongo")
    pid_file = tmp_path / "mongo" / "secantusd.pid"
    dead = subprocess.Popen(["true"])
    dead.wait()
    # Pretend the process that started it was SIGKILLed: the pid file now names a dead owner.
    server_pid, _owner, port = pid_file.read_text().split()
    pid_file.write_text(f"{server_pid} {dead.pid} {port}\n")
    fresh = start_mongo(tmp_path / "mongo")  # would fail on the WiredTiger lock without the cleanup
    try:
        assert leftover._process.poll() is not None
        with pymongo.MongoClient(fresh.uri) as client:
            assert client.admin.command("ping")["ok"] == 1.0
    finally:
        leftover.stop()
        fresh.stop()
    assert not pid_file.exists()


def test_mongo_start_failure_names_service_and_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError, match=r"^SecantusDB on 127\.0\.0\.1:\d+ exited") as failed:
            start_mongo(tmp_path / "mongo", port=port)
    assert "Address already in use" in str(failed.value)
    assert "\n" not in str(failed.value)


def test_postgres_stop_stops_the_server(tmp_path: Path) -> None:
    service = start_postgres(tmp_path / "pg", database="other")
    with psycopg.connect(service.url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("other",)
    service.stop()
    service.stop()  # idempotent
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(service.url, connect_timeout=2).close()


def test_local_stack_stops_everything_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_TEST_MONGODB_URI", raising=False)
    monkeypatch.delenv("PIPELINE_TEST_POSTGRES_URL", raising=False)
    stack = local_stack(tmp_path, regions=("us",), smtp=True)
    with pytest.raises(RuntimeError, match="boom"), stack as started:
        mongo = started.mongo["us"]
        assert mongo is not None and started.smtp is not None
        ports = [int(mongo.uri.rsplit(":", 1)[1]), started.smtp.port]
        postgres_url = started.postgres_url
        assert started.env()["PIPELINE_STORAGE_URL"] == str(tmp_path.resolve() / "lake")
        assert "AWS_ENDPOINT_URL_S3" not in started.env()
        raise RuntimeError("boom")
    assert all(_refused(port) for port in ports)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres_url, connect_timeout=2).close()


def test_local_stack_reuses_named_servers(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = stack.mongo_uris["us"].rsplit("/", 1)[0]
    monkeypatch.setenv("PIPELINE_TEST_MONGODB_URI", base)
    monkeypatch.setenv("PIPELINE_TEST_POSTGRES_URL", stack.postgres_url)
    with local_stack(tmp_path, regions=("us", "apac")) as reused:
        assert reused.mongo == {"us": None, "apac": None}
        assert reused.mongo_uris == {"us": f"{base}/ada_us", "apac": f"{base}/ada_apac"}
        assert reused.postgres_url == stack.postgres_url
        assert reused.s3 is None and reused.smtp is None
        with pymongo.MongoClient(reused.mongo_uris["apac"]) as client:
            client.get_default_database().pings.insert_one({"ok": True})
            assert client.ada_apac.pings.count_documents({}) == 1
    assert not (tmp_path / "mongo").exists() and not (tmp_path / "postgres").exists()


def test_with_database_keeps_credentials_and_options() -> None:
    assert with_database("mongodb://127.0.0.1:1", "ada_us") == "mongodb://127.0.0.1:1/ada_us"
    assert (
        with_database("mongodb://u:p@h1:1,h2:2/admin?replicaSet=rs0", "ada_eu")
        == "mongodb://u:p@h1:1,h2:2/ada_eu?replicaSet=rs0&authSource=admin"
    )
    assert with_database("mongodb://u:p@h/admin?authsource=x", "d") == "mongodb://u:p@h/d?authsource=x"
