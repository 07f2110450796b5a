"""The project's SQL folder: files read and split into statements, identifiers quoted by one helper."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SQL_DIR_ENV = "PIPELINE_SQL_DIR"
# Folders of the SQL folder whose statements never run on the warehouse: the console's own database
# (SQLite or PostgreSQL).
NOT_WAREHOUSE = ("console",)


class Located(dict):
    """A YAML mapping that knows its line and each key's (1-based), so a declaration's error can name the line
    (pipeline/declarations.py)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line = 0
        self.lines: dict[Any, int] = {}  # the loader fills them


class _LocatingLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, whose mappings are Located."""


def _located_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)  # merge keys (<<) as safe_load does
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                    "found an unhashable key", key_node.start_mark) from None
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _located_mapping)


def parse_yaml(text: str) -> Any:
    """YAML as yaml.safe_load reads it (yaml.YAMLError when it is not), each mapping a Located: the one place
    declarations are parsed. Not libyaml's CSafeLoader, although it parses the declarations 0.15 s faster: under
    pytest-cov it read `sql/schema/*.yml` as "could not determine a constructor for the tag None"."""
    return yaml.load(text, Loader=_LocatingLoader)  # noqa: S506 - a SafeLoader


def sql_dir() -> Path:
    """The SQL folder: PIPELINE_SQL_DIR (a deployment's own sources and models), else the one shipped in the
    package (`pipeline/sql` in an installed wheel), else `sql/` of the source checkout."""
    configured = os.environ.get(SQL_DIR_ENV, "").strip()
    if configured:
        return Path(configured).resolve()
    package = Path(__file__).resolve().parent
    packaged = package / "sql"
    return packaged if packaged.is_dir() else package.parent / "sql"


def warehouse_sql_files(root: Path | None = None) -> list[Path]:
    """The SQL files the warehouse runs, and the model declarations holding SQL: what a dialect check reads."""
    root = root or sql_dir()
    found = [*root.rglob("*.sql"), *root.rglob("model.yml")]
    return sorted(path for path in found if path.relative_to(root).parts[0] not in NOT_WAREHOUSE)


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def read_sql(relative: str, root: Path | None = None) -> str:
    path = (root or sql_dir()) / relative
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {relative} not found under {root or sql_dir()}")
    return _read(path)


def statements(text: str) -> list[str]:
    """Split a file on semicolons that end a line; comment-only chunks are dropped."""
    chunks = re.split(r";[ \t]*(?:--[^\n]*)?\n", text + "\n")
    result = []
    for chunk in chunks:
        code = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("--")).strip()
        if code:
            result.append(code.rstrip(";"))
    return result


def is_identifier(name: str) -> bool:
    return bool(_IDENTIFIER.match(name))


def quote_ident(name: str) -> str:
    """Quote a possibly schema-qualified identifier; refuse anything that is not a plain lowercase name."""
    parts = name.split(".")
    for part in parts:
        if not is_identifier(part):
            raise ValueError(f"not a plain identifier: {name!r}")
    return ".".join(f'"{part}"' for part in parts)


def quote_literal(value: str) -> str:
    """A string literal for the few places that cannot take a bound value (Redshift COPY options)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class Fragment:
    """SQL the project itself wrote (a model's query from its folder, a rendered template), for a template
    placeholder: render places it as it is, where it quotes every other value."""

    sql: str


@dataclass(frozen=True)
class KeyMatch:
    """`left.c = right.c and ...` over key columns, for a template placeholder: an equi-join of two tables."""

    left: str
    right: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Placeholders:
    """Bound-value placeholders of these names, comma-separated (`%(a)s, %(b)s`): a list of values to bind."""

    names: tuple[str, ...]


Filling = str | list[str] | tuple[str, ...] | int | Fragment | KeyMatch | Placeholders


def render(text: str, **identifiers: Filling) -> str:
    """Fill {name} placeholders with quoted identifiers (a list becomes a comma-separated list), an integer's
    digits where a statement takes no bound value (LIMIT, on Redshift), or one of the fillings above."""
    def fill(value: Filling) -> str:
        if isinstance(value, Fragment):
            return value.sql
        if isinstance(value, KeyMatch):
            return " and ".join(f"{quote_ident(value.left)}.{column} = {quote_ident(value.right)}.{column}"
                                for column in map(quote_ident, value.columns))
        if isinstance(value, Placeholders):
            if not all(map(is_identifier, value.names)):
                raise ValueError(f"not plain parameter names: {value.names!r}")
            return ", ".join(f"%({name})s" for name in value.names)
        if isinstance(value, bool) or not isinstance(value, (str, list, tuple, int)):
            raise ValueError(f"not an identifier or an integer: {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"not a count: {value!r}")
            return int.__str__(value)
        return ", ".join(map(quote_ident, value)) if isinstance(value, (list, tuple)) else quote_ident(value)

    return text.format_map({key: fill(value) for key, value in identifiers.items()})

