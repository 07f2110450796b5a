"""The regional MongoDB sources: one client per URI and process, window queries on the cursor field."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import TypeVar
from urllib.parse import urlsplit

import pymongo
import pymongo.errors
from bson.codec_options import CodecOptions
from pymongo.collection import Collection as MongoCollection
from pymongo.errors import PyMongoError

from pipeline.catalog import Source
from pipeline.config import SourceSettings
from pipeline.secrets import redact_url
from pipeline.windows import Window

T = TypeVar("T")
_clients: dict[tuple[int, str], pymongo.MongoClient] = {}


class SourceError(RuntimeError):
    """A MongoDB source is unreachable or unusable; the message names the region and host."""


def is_transient(error: BaseException) -> bool:
    """Network trouble and elections: a later attempt can succeed."""
    return isinstance(error, (pymongo.errors.AutoReconnect, pymongo.errors.NetworkTimeout,
                              pymongo.errors.ServerSelectionTimeoutError))


def hosts(uri: str) -> str:
    return urlsplit(uri).netloc.rpartition("@")[2] or redact_url(uri)


def new_client(uri: str) -> pymongo.MongoClient:
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=SourceSettings().server_selection_timeout_ms,
                               tz_aware=False, appname="analytics-pipeline")


def client(uri: str) -> pymongo.MongoClient:
    """A client per URI and process: Luigi forks workers, and a MongoClient must not cross a fork."""
    key = (os.getpid(), uri)
    if key not in _clients:
        _clients[key] = new_client(uri)
    return _clients[key]


# A string with invalid UTF-8 bytes must not make its whole window unreadable: it reads with the bytes as
# lone surrogates (MongoClient's own option allows only lossy handlers), and the conversion keeps it as drift.
_CODEC_OPTIONS = CodecOptions(tz_aware=False, unicode_decode_error_handler="surrogateescape")


def source_collection(uri: str, name: str) -> MongoCollection:
    return client(uri).get_default_database().get_collection(name, codec_options=_CODEC_OPTIONS)


def ping(region: str, uri: str) -> None:
    """Fail fast, naming the setting, region and host, when a source cannot be reached."""
    # A client of its own, closed at once: its monitor threads are gone by the time the command exits, where
    # pymongo's exit handler would otherwise wait up to half a second for them.
    try:
        with new_client(uri) as probe:
            probe.admin.command("ping")
    except PyMongoError as error:
        reason = str(error).split(",")[0].split(" (")[0]
        raise SourceError(f"PIPELINE_SOURCES: cannot reach MongoDB for region {region!r} at {hosts(uri)}: "
                          f"{reason}") from None


def has_cursor_index(source: MongoCollection, declared: Source) -> bool:
    """Whether an index leads with the cursor field. Without one every window query scans the collection."""
    return any(spec["key"][0][0] == declared.cursor for spec in source.index_information().values())


# Every BSON type but a date: what a cursor field must never hold (queried by type so an index serves it).
NOT_A_DATE = ["double", "string", "object", "array", "binData", "objectId", "bool", "regex", "int", "timestamp",
              "long", "decimal"]


def undated_documents(source: MongoCollection, declared: Source, future: dt.datetime) -> Iterator[dict]:
    """Documents whose cursor is missing, null, not a date, or a date from `future` on: no window reads them
    (a window is read once it closed). Each as {key, cursor} only."""
    if source.name not in source.database.list_collection_names(filter={"name": source.name}):
        return
    # Three queries, not one $or: the null and the range ones are served by the cursor's index on any server
    # (an $or made SecantusDB scan the whole collection for all three); the three match disjoint documents.
    for query in ({declared.cursor: None}, {declared.cursor: {"$gte": future}},
                  {declared.cursor: {"$type": NOT_A_DATE}}):
        yield from source.find(query, {declared.key: 1, declared.cursor: 1})


def window_slices(window: Window, slice_minutes: int) -> list[Window]:
    """The window cut into consecutive slices, queried one by one so that the server prepares the next
    slice while this process converts the current one."""
    step = dt.timedelta(minutes=slice_minutes)
    slices, start = [], window.start
    while start < window.end:
        slices.append(Window(start, min(start + step, window.end)))
        start += step
    return slices


def window_documents(source: MongoCollection, declared: Source, window: Window, batch_size: int,
                     projection: dict | None = None, slice_minutes: int | None = None) -> Iterator[dict]:
    """The documents whose cursor lies in [start, end), by indexed range queries: no skip, no count.

    No hint: the range on the indexed cursor field selects its index anyway, and SecantusDB drops the range
    bounds from a hinted query (a 15-minute window then walks the whole index)."""
    if source.name not in source.database.list_collection_names(filter={"name": source.name}):
        return  # nothing written yet (a new region)
    if not has_cursor_index(source, declared):
        raise SourceError(f"{source.database.name}.{source.name} has no index on {declared.cursor!r}; "
                          f"create it: db.{source.name}.createIndex({{{declared.cursor}: 1}})")
    slices = window_slices(window, slice_minutes) if slice_minutes else [window]

    def batches() -> Iterator[list[dict]]:
        for piece in slices:
            query = {declared.cursor: {"$gte": piece.start, "$lt": piece.end}}
            with source.find(query, projection, batch_size=batch_size) as cursor:
                batch = []
                for document in cursor:
                    batch.append(document)
                    if len(batch) == batch_size:
                        yield batch
                        batch = []
                if batch:
                    yield batch

    for batch in prefetched(batches(), depth=2):
        yield from batch


_DONE = object()


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """Iterate `items` in a background thread, at most `depth` items ahead. The thread mostly waits on the
    server's socket (no GIL held), so fetching overlaps the caller's work. Errors surface in the caller."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False  # the consumer left

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            offer(error)

    thread = threading.Thread(target=produce, name="mongo-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def existing_keys(source: MongoCollection, key: str, values: list) -> set:
    """Which of these key values the collection still has (only the key read; its index serves the query)."""
    if not values:
        return set()
    return {document[key] for document in source.find({key: {"$in": values}}, {key: 1}, batch_size=len(values))}
