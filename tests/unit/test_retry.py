"""Which errors are retried, and how: transient ones with doubling waits, permanent ones at once."""

import smtplib

import psycopg
import pymongo.errors
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from pipeline.retry import is_transient, with_retries
from pipeline.warehouse import WarehouseError, WarehouseUnavailable
from pipeline.warehouse.postgresql.dialect import is_transient_connect


def redshift_error(kind: str, message: str) -> Exception:
    """An exception of redshift-connector's own class, as the driver raises it."""
    import redshift_connector

    return getattr(redshift_connector, kind)(message)


@pytest.mark.parametrize("error", [
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError("timed out"),
    pymongo.errors.AutoReconnect("connection closed"),
    pymongo.errors.ServerSelectionTimeoutError("no servers"),
    EndpointConnectionError(endpoint_url="http://s3"),
    ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate"}}, "PutObject"),
    smtplib.SMTPDataError(451, b"try again later"),
    smtplib.SMTPServerDisconnected("gone"),
    psycopg.OperationalError("connection to server failed"),
    WarehouseUnavailable("cannot connect: refused", transient=True),
])
def test_transient_errors(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    psycopg.errors.UndefinedTable("relation does not exist"),
    psycopg.errors.SyntaxError("syntax error at or near"),
    ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject"),
    smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")}),
    smtplib.SMTPDataError(554, b"rejected"),
    ValueError("bad config"),
    KeyError("region"),
    WarehouseUnavailable("cannot connect: password authentication failed", transient=False),
    WarehouseError("COPY into stage_messages failed"),
])
def test_permanent_errors(error):
    assert not is_transient(error)


def test_transient_errors_are_retried_with_doubling_waits():
    waits, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "done"

    assert with_retries(flaky, attempts=4, base_delay=0.5, what="t", sleep=waits.append) == "done"
    assert waits == [0.5, 1.0]


def test_permanent_errors_fail_at_once_and_transient_ones_after_the_last_attempt():
    waits = []

    def bad_sql():
        raise psycopg.errors.SyntaxError("syntax error")

    with pytest.raises(psycopg.errors.SyntaxError):
        with_retries(bad_sql, attempts=4, base_delay=1, what="t", sleep=waits.append)
    assert waits == []

    def down():
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        with_retries(down, attempts=3, base_delay=1, what="t", sleep=waits.append)
    assert waits == [1, 2]


def test_redshift_serializable_isolation_and_dropped_connections_are_transient():
    assert is_transient(redshift_error("ProgrammingError", "{'S': 'ERROR', 'C': 'XX000', 'M': '1023', "
                                                           "'D': 'Serializable isolation violation on table'}"))
    assert is_transient(redshift_error("InterfaceError", "BrokenPipe: server socket closed"))
    assert not is_transient(redshift_error("ProgrammingError", "relation \"raw.x\" does not exist"))
    assert not is_transient(redshift_error("InterfaceError", "{'S': 'FATAL', 'C': '28000', 'M': 'password "
                                                             "authentication failed for user \"loader\"'}"))
    assert is_transient(redshift_error("ProgrammingError", "{'S': 'FATAL', 'C': '57P03', 'M': 'the database "
                                                           "system is starting up'}"))


@pytest.mark.parametrize("message, transient", [
    ('connection to server at "db" (10.0.0.1), port 5432 failed: Connection refused', True),
    ('connection to server on socket "/tmp/.s.PGSQL.5432" failed: No such file or directory', True),
    ("connection failed: FATAL:  the database system is starting up", True),
    ("connection failed: FATAL:  sorry, too many connections for role", True),
    ('connection failed: FATAL:  password authentication failed for user "loader"', False),
    ('connection failed: FATAL:  database "dw" does not exist', False),
    ("connection failed: fe_sendauth: no password supplied", False),
    ("connection failed: SSL error: certificate verify failed", False),
])
def test_a_postgresql_connect_failure_is_transient_unless_the_server_rejects_the_request(message, transient):
    assert is_transient_connect(psycopg.OperationalError(message)) is transient



def test_a_missing_table_is_told_apart_on_redshift():
    from pipeline.warehouse import dialect

    missing = redshift_error("ProgrammingError", "{'S': 'ERROR', 'C': '42P01', 'M': 'relation "
                                                 "\"analytics.conversations\" does not exist'}")
    denied = redshift_error("ProgrammingError", "{'S': 'ERROR', 'C': '42501', 'M': 'permission denied for "
                                                "relation conversations'}")
    assert dialect("redshift").is_missing_table(missing) and not dialect("redshift").is_missing_table(denied)
