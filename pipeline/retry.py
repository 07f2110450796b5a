"""Retry transient failures (network, throttling, temporary refusals) with backoff; fail at once otherwise."""

from __future__ import annotations

import functools
import logging
import smtplib
import time
from collections.abc import Callable
from typing import TypeVar

import luigi

logger = logging.getLogger(__name__)
T = TypeVar("T")
_THROTTLING = {"Throttling", "ThrottlingException", "SlowDown", "RequestTimeout", "RequestLimitExceeded",
               "InternalError", "ServiceUnavailable", "503"}


class retry(luigi.Config):
    """In-task retries of transient errors; the next scheduled run is the retry after that."""

    attempts = luigi.IntParameter(default=4, description="tries in all, for a transient error")
    base_delay_seconds = luigi.FloatParameter(default=2.0, description="first wait; doubles each time")


def is_transient(error: BaseException) -> bool:
    """Errors that a later attempt can fix by itself. Bad SQL, bad config, bad data are not among them."""
    import psycopg
    import pymongo.errors
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(error, (ConnectionError, TimeoutError, pymongo.errors.AutoReconnect,
                          pymongo.errors.NetworkTimeout, pymongo.errors.ServerSelectionTimeoutError,
                          BotoConnectionError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500  # 4xx: "try again later"; 5xx: refused for good
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in _THROTTLING
    if isinstance(error, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)):
        return True  # the database rolled back one side of a conflict; the same work succeeds alone
    if type(error).__module__.startswith("redshift_connector") and type(error).__name__ in (
            "InterfaceError", "OperationalError"):
        return True  # the connection dropped (redshift-connector's DB-API names); statements fail otherwise
    if isinstance(error, psycopg.OperationalError):
        # Connection trouble, not a statement the server refused (those are ProgrammingError and kin).
        return error.sqlstate is None or error.sqlstate.startswith(("08", "57P"))
    return False


def with_retries(action: Callable[[], T], *, attempts: int, base_delay: float, what: str,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
            delay = base_delay * 2 ** (attempt - 1)
            logger.warning("%s: transient %s (%s); retry %d/%d in %.1fs", what, type(error).__name__,
                           str(error).splitlines()[0] if str(error) else "", attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def retries_transient(run: Callable[[luigi.Task], None]) -> Callable[[luigi.Task], None]:
    """Decorate a task's run(): transient errors are retried with backoff, others fail the task at once."""

    @functools.wraps(run)
    def wrapper(task: luigi.Task) -> None:
        settings = retry()
        with_retries(lambda: run(task), attempts=settings.attempts, base_delay=settings.base_delay_seconds,
                     what=str(task))

    return wrapper
