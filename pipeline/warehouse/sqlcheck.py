"""SQL a warehouse kind would reject, in files: .sql files and the SQL blocks of model declarations.

The constructs themselves are each kind's (`Dialect.rejected`); this reads the files and gives every problem its
file and line. `pipeline.sqlcheck` adds the statements the pipeline generates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from pipeline.sqlfiles import Located, parse_yaml, sql_dir, warehouse_sql_files
from pipeline.warehouse.base import SHARED_TEMPLATES, Dialect


def checking_kinds() -> list[str]:
    """The warehouse kinds that reject some SQL PostgreSQL runs: what `pipeline sql-check` checks for."""
    from pipeline.warehouse import dialect, kinds

    return [kind for kind in kinds() if dialect(kind).rejected]


def check_files(dialect: Dialect, paths: Iterable[Path], root: Path) -> list[str]:
    """Every problem in these .sql files, and in the `touched` SQL of model.yml files (others are skipped)."""
    found: list[str] = []
    if dialect.rejected is None:
        return found
    for path in sorted(paths):
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".sql":
            found += dialect.rejected(text, shown, 1)
        elif path.name == "model.yml":
            first, block = touched_block(text)
            found += dialect.rejected(block, shown, first)
    return found


def sql_files(dialect: Dialect, root: Path | None = None) -> list[Path]:
    """What the kind runs from files: the SQL folder's, the shared templates and the kind's own templates."""
    return [*warehouse_sql_files(root or sql_dir()), *sorted(SHARED_TEMPLATES.glob("*.sql")),
            *sorted(dialect.templates.glob("*.sql"))]


def files_under(paths: Iterable[Path]) -> list[Path]:
    """The .sql and model.yml files of these paths (a folder is searched); a missing path is an error."""
    found = []
    for path in paths:
        if path.is_dir():  # what the warehouse runs (the console's own database SQL is not)
            found += warehouse_sql_files(path)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return sorted(set(found))


def touched_block(text: str) -> tuple[int, str]:
    """(the line its SQL begins on, the SQL) of a model.yml's `incremental.touched`; (1, "") when there is none
    (or the file is no YAML: the catalog reports that). Lines are exact for a `|` block, as the models write it."""
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError:
        return 1, ""
    incremental = raw.get("incremental") if isinstance(raw, Located) else None
    if not isinstance(incremental, Located) or not isinstance(incremental.get("touched"), str):
        return 1, ""
    line = incremental.lines["touched"]
    block = re.search(r"touched:\s*[|>]", text.splitlines()[line - 1])  # the SQL starts on the next line
    return line + (1 if block else 0), incremental["touched"]
