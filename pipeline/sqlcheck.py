"""`pipeline sql-check`: what a warehouse kind would reject in the SQL it would be sent, as `file:line: construct`.

Everything the pipeline can send is checked: the SQL folder (files and the SQL blocks of model declarations), the
shared and the kind's own templates, and the statements generated from the declarations (each model's rebuild,
data tests and full refresh, and the tables' DDL). PostgreSQL, the local default, would let these constructs
through and the first run on the production warehouse would fail."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from pipeline.catalog import Catalog, catalog
from pipeline.refresh import refresh_statements
from pipeline.sqlfiles import sql_dir
from pipeline.transform import data_test_query, model_statements, rows_table
from pipeline.warehouse import Dialect, dialect
from pipeline.warehouse.schema import plan_schema
from pipeline.warehouse.sqlcheck import check_files, files_under, sql_files


def generated_statements(kind: Dialect, project: Catalog) -> dict[str, list[str]]:
    """{where it comes from: statements} of everything generated from the declarations for this kind."""
    found: dict[str, list[str]] = {}
    for model in project.models.values():
        tests = [data_test_query(model, test, relation, kind)[0] for test in model.tests
                 for relation in (rows_table(model.name), model.table)]
        found[f"models/{model.name} (generated)"] = [*dataclasses.astuple(model_statements(model, project, kind)),
                                                          *tests]
        found[f"models/{model.name} (full refresh)"] = [
            statement for statement in dataclasses.astuple(refresh_statements(model, kind))
            if isinstance(statement, str)]
    found[f"{kind.kind} DDL (generated)"] = plan_schema(kind, project, {}, comments={})
    return found


def check_project(kind_name: str) -> tuple[list[str], str]:
    """(problems, what was checked) over everything the pipeline can send a warehouse of this kind."""
    kind = dialect(kind_name)
    root = sql_dir()
    files = sql_files(kind, root)
    found = check_files(kind, files, root)
    generated = generated_statements(kind, catalog())
    for where, items in generated.items():
        for statement in items:
            found += kind.rejected(statement, where, 1) if kind.rejected else []
    count = sum(len(items) for items in generated.values())
    return found, f"{len(files)} files and {count} generated statements"


def check_paths(paths: Iterable[Path], kind_name: str) -> tuple[list[str], str]:
    """(problems, what was checked) in these files, or the SQL files under these folders."""
    files = files_under(paths)
    return check_files(dialect(kind_name), files, Path.cwd()), f"{len(files)} files"
