"""SQL files from sql/, split into statements, with identifiers quoted by one helper."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def sql_dir() -> Path:
    """sql/ beside the package (a source checkout or an image that copies it), or PIPELINE_SQL_DIR."""
    configured = os.environ.get("PIPELINE_SQL_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "sql"


@cache
def read_sql(relative: str) -> str:
    path = sql_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {relative} not found under {sql_dir()} (set PIPELINE_SQL_DIR?)")
    return path.read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """Split a file on semicolons that end a line; comment-only chunks are dropped."""
    chunks = re.split(r";[ \t]*(?:--[^\n]*)?\n", text + "\n")
    result = []
    for chunk in chunks:
        code = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("--")).strip()
        if code:
            result.append(code.rstrip(";"))
    return result


def quote_ident(name: str) -> str:
    """Quote a possibly schema-qualified identifier; refuse anything that is not a plain lowercase name."""
    parts = name.split(".")
    for part in parts:
        if not _IDENTIFIER.match(part):
            raise ValueError(f"not a plain identifier: {name!r}")
    return ".".join(f'"{part}"' for part in parts)


def quote_literal(value: str) -> str:
    """A string literal for the few places that cannot take a bound value (Redshift COPY options)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


_TYPE = re.compile(r"^[a-z ]+(\(\d+(,\d+)?\))?$")


def create_temp_table(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    """CREATE TEMP TABLE from (column, type) pairs; types come from the catalog's fixed mapping."""
    for _, column_type in columns:
        if not _TYPE.match(column_type):
            raise ValueError(f"not a plain column type: {column_type!r}")
    definitions = ", ".join(f"{quote_ident(column)} {column_type}" for column, column_type in columns)
    return f"create temp table {quote_ident(name)} ({definitions})"


def render(text: str, **identifiers: str | list[str] | tuple[str, ...]) -> str:
    """Fill {name} placeholders with quoted identifiers (a list becomes a comma-separated list)."""
    quoted = {
        key: ", ".join(quote_ident(v) for v in value) if isinstance(value, (list, tuple)) else quote_ident(value)
        for key, value in identifiers.items()
    }
    return text.format_map(quoted)


def schema_files(kind: str) -> list[str]:
    """Dialect-neutral DDL first, then the files only this warehouse kind needs, each in name order."""
    base = sql_dir() / "schema"
    neutral = sorted(p.name for p in base.glob("*.sql"))
    specific = sorted(p.name for p in (base / kind).glob("*.sql")) if (base / kind).is_dir() else []
    return [f"schema/{name}" for name in neutral] + [f"schema/{kind}/{name}" for name in specific]


def transform_files() -> list[str]:
    return [f"transforms/{p.name}" for p in sorted((sql_dir() / "transforms").glob("*.sql"))]
