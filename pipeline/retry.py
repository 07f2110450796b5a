"""Retry transient failures (network, throttling, temporary refusals) with backoff; fail at once otherwise."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import luigi

from pipeline import mail, sources, storage, warehouse
from pipeline.config import RetrySettings

logger = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    """Errors that a later attempt can fix by itself, as each external system classifies its own. Bad SQL,
    bad config and bad data are not among them."""
    return isinstance(error, (ConnectionError, TimeoutError)) or any(
        system.is_transient(error) for system in (sources, storage, warehouse, mail))


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
        settings = RetrySettings()
        with_retries(lambda: run(task), attempts=settings.attempts, base_delay=settings.base_delay_seconds,
                     what=str(task))

    return wrapper
