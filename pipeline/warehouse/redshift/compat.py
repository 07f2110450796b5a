"""Redshift compatibility of SQL text: constructs PostgreSQL accepts and Redshift rejects, with file and line.

The transform, export and load SQL runs on both warehouses; PostgreSQL (the local default) would let these
through and the first run on Redshift would fail. The test command runs this over every SQL file and every
generated statement; `pipeline doctor` over the configured SQL folder."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

POSTGRES_ONLY: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern, re.IGNORECASE), name) for
                                                                pattern, name in (
    (r"::", "a :: cast (write cast(x as type))"),
    (r"\bon\s+conflict\b", "ON CONFLICT"),
    (r"\bdistinct\s+on\b", "DISTINCT ON"),
    (r"\bcreate\s+(unique\s+)?index\b", "CREATE INDEX (Redshift has sort keys)"),
    (r"\bfor\s+(no\s+key\s+)?(update|share)\b", "FOR UPDATE / FOR SHARE"),
    (r"\breturning\b", "RETURNING"),
    (r"\bjsonb\b", "jsonb"),
    (r"->>?|#>>?|@>|<@|\?\|", "a JSON operator (use json_extract_path_text)"),
    (r"\barray\s*\[|\[\s*\]", "an array"),
    (r"\bgenerate_series\s*\(", "generate_series (leader node only: not with tables)"),
    (r"\blateral\b", "LATERAL"),
    (r"\bfilter\s*\(\s*where\b", "FILTER (WHERE ...) (use a CASE inside the aggregate)"),
    (r"\bon\s+commit\b", "ON COMMIT"),
    (r"\bnow\s*\(\s*\)", "now() (use getdate(), or a bound value)"),
))
# String literals, quoted identifiers and comments: blanked before matching, line breaks kept.
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


def code_only(text: str) -> str:
    """The SQL with literals, quoted names and comments blanked (newlines kept, so lines still count)."""
    return _NOT_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def problems(text: str, where: str, first_line: int = 1) -> list[str]:
    """`where:line: construct` for each PostgreSQL-only construct in the SQL text."""
    found = []
    for number, line in enumerate(code_only(text).splitlines(), start=first_line):
        found += [f"{where}:{number}: {name}, which Redshift rejects" for pattern, name in POSTGRES_ONLY
                  if pattern.search(line)]
    return found


def check_files(paths: Iterable[Path], root: Path) -> list[str]:
    """Every problem in these .sql files, and in the `touched` SQL of model.yml files."""
    found = []
    for path in sorted(paths):
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".sql":
            found += problems(text, shown)
        elif path.name == "model.yml":
            first, block = _touched_block(text)
            found += problems(block, shown, first_line=first)
    return found


def _touched_block(text: str) -> tuple[int, str]:
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
