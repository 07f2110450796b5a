"""What the pages and the data API share: parameters' allowed values (cached), a template's result streamed as
CSV, JSON or XLSX on a connection of its own, and the cap on downloads streamed at once."""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response

from pipeline.config import ExportSettings
from pipeline.console import web
from pipeline.exports.render import Counted, csv_chunks, json_chunks, report_title, template_rows, xlsx_file
from pipeline.exports.schedule import Interval
from pipeline.exports.templates import ParameterError, Template
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse, connect

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@contextmanager
def warehouse() -> Iterator[Warehouse]:
    """A connection of the stream's own: a download outlives its request (and the request's connection)."""
    connection = connect()
    try:
        yield connection
    finally:
        connection.close()


def known_clients(connection: Warehouse) -> list[str]:
    """The clients whose data the warehouse holds (the client lookup every client template uses); none on a
    warehouse without the analytics tables yet."""
    return [row["client_id"] for row in connection.records_if_made("exports/lookups/clients.sql")]


_lookups: dict[tuple[str, str], tuple[float, list]] = {}
_lookups_lock = threading.Lock()


def allowed_values(connection: Warehouse, template: Template, parameter: str) -> list | None:
    """A parameter's allowed values, its lookup query's result reused for [console] lookup_cache_seconds."""
    key = (template.name, parameter)
    with _lookups_lock:
        cached = _lookups.get(key)
    if cached and time.monotonic() - cached[0] < web.settings().lookup_cache_seconds:
        return cached[1]
    values = template.allowed_values(connection, parameter)
    with _lookups_lock:
        _lookups[key] = (time.monotonic(), values)
    return values


def check_allowed(connection: Warehouse, template: Template, params: dict[str, Any]) -> None:
    for name, value in params.items():
        allowed = allowed_values(connection, template, name) if template.parameters[name].lookup else None
        if allowed is not None and value not in allowed:
            raise ParameterError(name, f"unknown {template.parameters[name].label.lower()} {value!r}")


class TooManyStreams(RuntimeError):
    """A holder (an API token, a user) or the console as a whole streams as many downloads as allowed."""


class StreamSlots:
    """Downloads streamed at once, per holder and in all. A download holds a thread for as long as its client
    reads, slowly or not at all; capped below the thread count, downloads never leave log-ins and pages
    without one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: collections.Counter[str] = collections.Counter()

    def take(self, holder: str, per_holder: int, total: int) -> None:
        with self._lock:
            if self._held[holder] >= per_holder:
                raise TooManyStreams(f"{per_holder} download(s) of yours are still streaming; retry when one ends")
            if sum(self._held.values()) >= total:
                raise TooManyStreams(f"the console streams {total} downloads already; retry in a minute")
            self._held[holder] += 1

    def give_back(self, holder: str) -> None:
        with self._lock:
            self._held[holder] -= 1
            if self._held[holder] <= 0:
                del self._held[holder]


SLOTS = StreamSlots()


def streamed(chunks: Iterator[bytes], holder: str, content_type: str, headers: dict[str, str]) -> Response:
    """A streamed response holding one of the holder's slots until the server closes it (sent, failed or the
    client gone); TooManyStreams when none is free. Its first chunk is made here, in the request: a query that
    fails does so before the status is sent, and the request's error handlers answer it."""
    settings = web.settings()
    SLOTS.take(holder, settings.max_streams_per_holder, settings.max_streams)
    try:
        first = next(chunks, b"")
        response = Response(itertools.chain([first], chunks), content_type=content_type, headers=headers)
    except BaseException:
        SLOTS.give_back(holder)
        raise
    response.call_on_close(lambda: SLOTS.give_back(holder))
    return response


def report_response(template: Template, params: dict[str, Any], interval: Interval, file_format: str,
                    holder: str, filename: str | None = None,
                    on_done: Callable[[int, bool], None] | None = None) -> Response:
    """A template's whole result, streamed as CSV or JSON (an XLSX is written to a temporary file first: a zip
    needs seeking), in one of the holder's download slots. `on_done` gets the rows sent and whether the query
    failed, once the response ends."""
    batch_rows = ExportSettings().batch_rows

    def body() -> Iterator[bytes]:
        counted, failed = Counted([]), False
        try:
            # On Redshift a big result goes through UNLOAD, as a scheduled export's does: the client never holds it.
            unload_above = ExportSettings().unload_above_rows
            with warehouse() as connection, template_rows(connection, template, params, interval, batch_rows,
                                                          ObjectStore.from_config(), unload_above) as (
                    columns, batches):
                counted = Counted(batches)
                if file_format == "xlsx":
                    with xlsx_file(columns, counted, template.title, report_title(template, params, interval)) as (
                            local, _rows), open(local, "rb") as handle:
                        while chunk := handle.read(1 << 16):
                            yield chunk
                elif file_format == "json":
                    yield from json_chunks([column.name for column in columns], counted)
                else:
                    yield from csv_chunks([column.label for column in columns], counted)
        except Exception:
            failed = True
            raise
        finally:  # also when the client went away mid-stream: the rows it was sent
            if on_done is not None:
                on_done(counted.rows, failed)

    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else {}
    return streamed(body(), holder, CONTENT_TYPES[file_format], headers)


