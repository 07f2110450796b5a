"""Warehouse kinds behind one interface; each kind is a folder here (driver, dialect, SQL templates).

A new kind: a folder with `DIALECT`, `SCHEMES` (its URL schemes), `URL_FORM` and `connect(url)` in its
__init__. A kind kept outside this package registers its module under the entry point group
`pipeline.warehouse_kinds` (tests/kinds/ holds one the suite runs the transforms on)."""

from __future__ import annotations

import os
import pkgutil
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from types import ModuleType

from pipeline.catalog import Catalog, catalog
from pipeline.config import WAREHOUSE_FORM, ConfigError, WarehouseUrl, warehouse_url
from pipeline.warehouse.base import Dialect, Warehouse, WarehouseError, WarehouseUnavailable
from pipeline.warehouse.schema import ensure_schema

__all__ = ["Dialect", "Warehouse", "WarehouseError", "WarehouseUnavailable", "connect", "connection", "dialect",
           "kinds", "kind_of", "is_read_only", "is_transient", "read_only", "replacing"]
ENTRY_POINTS = "pipeline.warehouse_kinds"


KIND_PARTS = ("DIALECT", "SCHEMES", "URL_FORM", "connect")


@cache
def _folder_kinds() -> dict[str, ModuleType]:
    """{kind: its module} of the folders here."""
    return {name: import_module(f"{__name__}.{name}") for _, name, is_package in pkgutil.iter_modules(__path__)
            if is_package}


@cache
def _plugin_kinds() -> dict[str, ModuleType]:
    """{kind: its module} of the kinds other packages register; read only when needed (listing the entry points
    costs ~10 ms). ConfigError naming an entry point that does not load, lacks a part or takes a folder's name."""
    found = {}
    for point in entry_points(group=ENTRY_POINTS):
        culprit = f"entry point {point.name} = {point.value} ({ENTRY_POINTS})"
        if point.name in _folder_kinds():
            raise ConfigError(culprit, f"{point.name} is a kind of the pipeline's own")
        try:
            module = point.load()
        except Exception as error:  # a plugin's import error, whatever it is, named with its entry point
            raise ConfigError(culprit, f"does not load: {type(error).__name__}: {error}") from None
        missing = [part for part in KIND_PARTS if not hasattr(module, part)]
        if missing:
            raise ConfigError(culprit, f"a kind's module gives {', '.join(KIND_PARTS)}; it lacks {', '.join(missing)}")
        found[point.name] = module
    return found


def _kind_module(kind: str) -> ModuleType:
    return _folder_kinds()[kind] if kind in _folder_kinds() else _plugin_kinds()[kind]


def dialect(kind: str) -> Dialect:
    return _kind_module(kind).DIALECT


def kinds() -> list[str]:
    """Every warehouse kind, by name."""
    return sorted({**_folder_kinds(), **_plugin_kinds()})


def kind_of(url: WarehouseUrl) -> str:
    """The kind whose SCHEMES hold the URL's scheme; ConfigError naming the setting and the forms when none."""
    for found in (_folder_kinds, _plugin_kinds):
        for kind, module in found().items():
            if url.scheme in module.SCHEMES:
                return kind
    forms = "; ".join(module.URL_FORM for module in {**_folder_kinds(), **_plugin_kinds()}.values())
    raise ConfigError(url.setting, f"unsupported warehouse, got scheme {url.scheme!r}", f"{WAREHOUSE_FORM}: {forms}")


def connect(url: WarehouseUrl | None = None) -> Warehouse:
    """A new connection to the configured warehouse (PIPELINE_WAREHOUSE_URL or luigi.cfg)."""
    url = url or warehouse_url()
    return _kind_module(kind_of(url)).connect(url)


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
    # The kinds loaded so far: classifying an error never loads (or fails on) a plugin.
    loaded = {**_folder_kinds(), **(_plugin_kinds() if _plugin_kinds.cache_info().currsize else {})}
    return any(module.DIALECT.is_transient(error) for module in loaded.values())
