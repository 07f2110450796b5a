"""SQL a warehouse kind would reject, in files: .sql files and the SQL blocks of model declarations.

The constructs themselves are each kind's (`Dialect.rejected`); this reads the files and gives every problem its
file and line. `pipeline.sqlcheck` adds the statements the pipeline generates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pipeline.sqlfiles import sql_dir, warehouse_sql_files
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
    """(its first line number, the text) of the `touched: |` block of a model.yml."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)touched:\s*\|", line)
        if match:
            indent = len(match[1])
            block = []
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following)
            return number + 2, "\n".join(block)
    return 1, ""
