"""What every blueprint of the console uses within a request: the app's settings, one console-database
connection and one warehouse connection per request (opened when first needed, closed when the request
ends), the role check and the date parser of forms and URLs."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, g

from pipeline.config import ConsoleSettings
from pipeline.exports.templates import parse_typed
from pipeline.statedb import StateConnection
from pipeline.warehouse import Warehouse, connect

FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 1, 1)


def settings() -> ConsoleSettings:
    return current_app.config["CONSOLE"]


def state() -> StateConnection:
    """This request's connection to the console's database; each unit of work is a transaction on it."""
    if "state" not in g:
        g.state = StateConnection(current_app.config["STATE_URL"])
    return g.state


def warehouse() -> Warehouse:
    """This request's warehouse connection (pages only read). A streamed download opens its own: it outlives
    the request."""
    if "warehouse" not in g:
        g.warehouse = connect()
    return g.warehouse


def close_connections(_error: BaseException | None = None) -> None:
    for name in ("state", "warehouse"):
        connection = g.pop(name, None)
        if connection is not None:
            connection.close()


def requires(role: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not g.user.can(role):
                abort(403, f"this needs the {role} role; you are {g.user.role}")
            return view(*args, **kwargs)
        return checked
    return decorate


def parse_day(text: str) -> dt.date:
    """A date from a form or URL, within years the pipeline can mean; ValueError saying the form otherwise."""
    try:
        day = parse_typed("date", text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day < LAST_DAY:
        raise ValueError(f"{day} is outside {FIRST_DAY:%Y} to {LAST_DAY.year - 1}")
    return day


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
