"""The regional MongoDB sources: one client per URI and process, window queries on the cursor field."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pymongo
from pymongo.collection import Collection as MongoCollection
from pymongo.errors import OperationFailure, PyMongoError

from pipeline.catalog import Collection
from pipeline.config import redact_url, sources
from pipeline.windows import Window

_clients: dict[tuple[int, str], pymongo.MongoClient] = {}


class SourceError(RuntimeError):
    """A MongoDB source is unreachable or unusable; the message names the region and host."""


def hosts(uri: str) -> str:
    return urlsplit(uri).netloc.rpartition("@")[2] or redact_url(uri)


def client(uri: str) -> pymongo.MongoClient:
    """A client per URI and process: Luigi forks workers, and a MongoClient must not cross a fork."""
    key = (os.getpid(), uri)
    if key not in _clients:
        _clients[key] = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=sources().server_selection_timeout_ms, tz_aware=False,
            appname="analytics-pipeline",
        )
    return _clients[key]


def source_collection(uri: str, name: str) -> MongoCollection:
    database = client(uri).get_default_database()
    return database[name]


def ping(region: str, uri: str) -> None:
    """Fail fast, naming the setting, region and host, when a source cannot be reached."""
    try:
        client(uri).admin.command("ping")
    except PyMongoError as error:
        reason = str(error).split(",")[0].split(" (")[0]
        raise SourceError(f"PIPELINE_SOURCES: cannot reach MongoDB for region {region!r} at {hosts(uri)}: "
                          f"{reason}") from None


def window_documents(source: MongoCollection, collection: Collection, window: Window,
                     batch_size: int, projection: dict | None = None) -> Iterator[dict]:
    """The documents whose cursor lies in [start, end), by an indexed range query: no skip, no count."""
    if source.name not in source.database.list_collection_names(filter={"name": source.name}):
        return  # nothing written yet (a new region); a hint on a missing collection would fail
    query = {collection.cursor: {"$gte": window.start, "$lt": window.end}}
    cursor = source.find(query, projection, batch_size=batch_size).hint([(collection.cursor, 1)])
    try:
        yield from cursor
    except OperationFailure as error:
        if "hint" in str(error).lower() or "index" in str(error).lower():
            raise SourceError(f"{source.database.name}.{source.name} has no index on {collection.cursor!r}; "
                              f"create it: db.{source.name}.createIndex({{{collection.cursor}: 1}})") from None
        raise
    finally:
        cursor.close()
