"""Warehouse kinds behind one interface; each kind is a folder here (driver, dialect, SQL templates).

A new kind: a folder with `DIALECT` and `connect(url)` in its __init__, and its URL scheme in
pipeline.config.WAREHOUSE_SCHEMES."""

from __future__ import annotations

import os
from importlib import import_module

from pipeline.catalog import Catalog, catalog
from pipeline.config import WAREHOUSE_SCHEMES, WarehouseUrl, warehouse_url
from pipeline.warehouse.base import Dialect, Warehouse, WarehouseError, WarehouseUnavailable
from pipeline.warehouse.schema import ensure_schema

__all__ = ["Dialect", "Warehouse", "WarehouseError", "WarehouseUnavailable", "connect", "connection", "dialect",
           "kinds", "is_read_only", "is_transient", "read_only", "replacing"]


def _kind_module(kind: str):
    return import_module(f"pipeline.warehouse.{kind}")


def dialect(kind: str) -> Dialect:
    return _kind_module(kind).DIALECT


def kinds() -> list[str]:
    """Every warehouse kind (a folder here), by name."""
    return sorted(set(WAREHOUSE_SCHEMES.values()))


def connect(url: WarehouseUrl | None = None) -> Warehouse:
    """A new connection to the configured warehouse (PIPELINE_WAREHOUSE_URL or luigi.cfg)."""
    url = url or warehouse_url()
    return _kind_module(url.kind).connect(url)


_connections: dict[tuple[int, str], Warehouse] = {}
_matched: dict[tuple[int, str], Catalog] = {}  # the declarations each connection's warehouse was matched to
_read_only = False
_replacing: frozenset[str] = frozenset()


def read_only(enabled: bool = True) -> None:
    """From now on in this process, connection() changes nothing in the warehouse (a --dry-run): no table is
    created or evolved. A marker query on a table that does not exist yet fails, and counts as not done."""
    global _read_only
    _read_only = enabled


def is_read_only() -> bool:
    return _read_only


def replacing(tables: frozenset[str]) -> None:
    """From now on in this process, the schema check leaves these existing tables alone: a full refresh
    replaces them in their declared shape (a removed or retyped model column would stop it otherwise)."""
    global _replacing
    _replacing = frozenset(tables)


def connection(recheck: bool = False) -> Warehouse:
    """One connection per process and URL (Luigi forks workers), its tables made to match the declarations
    (sql/sources, sql/models) on first use, whenever a declaration file changed, and when `recheck` (a
    command's start: the warehouse may have been changed by hand since), unless read_only()."""
    key = (os.getpid(), warehouse_url().url)
    if key in _connections and not _connections[key].usable():
        del _connections[key]  # broken by a network error: a retry needs a fresh connection
    if key not in _connections:
        _connections[key] = connect()
        _matched.pop(key, None)
    declared = catalog()
    if not _read_only and (recheck or _matched.get(key) is not declared):
        ensure_schema(_connections[key], declared, _replacing)
        _matched[key] = declared
    return _connections[key]


def is_transient(error: BaseException) -> bool:
    """Whether a warehouse failed to connect for now, or any kind classifies the error as one a later attempt
    can fix."""
    if isinstance(error, WarehouseUnavailable):
        return error.transient
    return any(dialect(kind).is_transient(error) for kind in sorted(set(WAREHOUSE_SCHEMES.values())))
