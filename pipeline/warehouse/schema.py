"""Make the warehouse match the declarations: create missing tables, add declared columns, widen varchar;
stop with one line on a change that cannot be applied safely (a type change, a removed column)."""

from __future__ import annotations

import re
import time
from typing import Any

from pipeline.catalog import Catalog, CatalogError, Table, catalog
from pipeline.sqlfiles import quote_ident, statements
from pipeline.warehouse.base import Dialect, Warehouse, WarehouseError
from pipeline.windows import utcnow

_VARCHAR = re.compile(r"^character varying\((\d+)\)$")
# What Redshift refuses inside a transaction block: changing a column's type, and its keys.
_ALTER_ALONE = re.compile(r"^alter table .* alter (column |diststyle |distkey |compound sortkey |sortkey )",
                          re.IGNORECASE)


class SchemaError(WarehouseError):
    """A declared change cannot be applied to the existing table safely; the message says what to do."""


def plan_table(dialect: Dialect, table: Table, existing: list[tuple[str, str]] | None,
               made: frozenset[str] = frozenset()) -> list[str]:
    """Statements that bring one table from `existing` [(column, format_type)] (None: absent) to its
    declaration; SchemaError when that would change a type or lose a column, or when a column (or the table)
    the pipeline made (`made`, from ops.schema_columns) is gone: it was dropped or renamed by hand, and adding
    it back empty would hide the loss."""
    if existing is None:
        if made:
            raise SchemaError(f"{table.name} was made by the pipeline and is gone from the warehouse (dropped by "
                              f"hand?): nothing runs until it is back; restore it from a backup, or forget it with "
                              f"`delete from ops.schema_columns where table_name = '{table.name}'` and reload its "
                              f"history (pipeline backfill --rerun over the loaded range)")
        return [dialect.create_table(table, table.columns)]
    have = dict(existing)
    declared = {c.name: c for c in table.columns}
    removed = [name for name in have if name not in declared]
    if removed and table.rebuilt_by:
        raise SchemaError(f"{table.name}.{removed[0]} exists in the warehouse but {table.declared_in} does not "
                          f"declare it: rebuild the table in its new shape with `{table.rebuilt_by}`")
    if removed:
        raise SchemaError(
            f"{table.name}.{removed[0]} exists in the warehouse but {table.declared_in or 'no declaration'} does "
            f"not declare it: declare it again, or drop it by hand (alter table {table.name} drop column "
            f"{removed[0]}) once its data may go")
    plan = []
    for column in table.columns:
        wanted = dialect.canonical_type(column)
        if column.name not in have and column.name in made:
            raise SchemaError(
                f"{table.name}.{column.name} was made by the pipeline and is gone from the warehouse (dropped or "
                f"renamed by hand?): nothing runs until it is back; add it again (alter table {table.name} add "
                f"column {column.name} {dialect.column_type(column)}), then refill it: pipeline backfill --rerun "
                f"over the loaded range")
        if column.name not in have:
            plan.append(f"alter table {quote_ident(table.name)} add column {quote_ident(column.name)} "
                        f"{dialect.column_type(column)}")
        elif have[column.name] != wanted:
            old, new = _VARCHAR.match(have[column.name]), _VARCHAR.match(wanted)
            if old and new and int(new[1]) > int(old[1]):
                plan.append(f"alter table {quote_ident(table.name)} alter column {quote_ident(column.name)} "
                            f"type {dialect.column_type(column)}")
                continue
            raise SchemaError(
                f"{table.name}.{column.name} is {have[column.name]} in the warehouse but {table.declared_in} "
                f"declares {wanted}: " + (f"rebuild the table in its new shape with `{table.rebuilt_by}`"
                                          if table.rebuilt_by else "a type change is not applied automatically; "
                                          "add a column under a new name, or migrate the table by hand"))
    return plan


def plan_comments(dialect: Dialect, table: Table, existing: dict[str, str]) -> list[str]:
    """COMMENT ON the table and each column whose description differs from the declaration ({column: text},
    '' for the table): the warehouse explains itself to whoever browses it, from the same files as the docs."""
    wanted = {"": table.description, **{c.name: c.description for c in table.columns}}
    plan = []
    for column, text in wanted.items():
        if text and existing.get(column) != text:
            target = (f"table {quote_ident(table.name)}" if not column else
                      f"column {quote_ident(table.name)}.{quote_ident(column)}")
            plan.append(f"comment on {target} is {dialect.literal(text)}")
    return plan


def plan_schema(dialect: Dialect, project: Catalog, existing: dict[str, list[tuple[str, str]]],
                comments: dict[str, dict[str, str]] | None = None,
                physical: dict[str, set[str]] | None = None,
                made: dict[str, frozenset[str]] | None = None, replacing: frozenset[str] = frozenset()
                ) -> list[str]:
    """All statements to run: schemas of missing tables, the kind's set-up on a new warehouse, then each
    table's plan (the pipeline's own tables first). Existing tables in `replacing` are left as they are: a full
    refresh is about to replace them in their declared shape."""
    problems = [problem for table in project.tables() for problem in dialect.check_table(table)]
    if problems:
        raise CatalogError("; ".join(problems))
    tables = [table for table in project.tables() if not (table.name in replacing and table.name in existing)]
    missing = [table for table in tables if table.name not in existing]
    plan = [f"create schema if not exists {quote_ident(schema)}"
            for schema in sorted({table.name.split(".")[0] for table in missing})]
    if any(table in missing for table in project.pipeline_tables) and dialect.has_template("setup.sql"):
        plan += statements(dialect.template("setup.sql"))  # a new warehouse
    for table in tables:
        plan += plan_table(dialect, table, existing.get(table.name), (made or {}).get(table.name, frozenset()))
    if physical is not None:
        for table in tables:
            plan += dialect.physical_plan(table, physical.get(table.name, set()) if table.name in existing else None)
    if comments is not None:
        for table in tables:
            plan += plan_comments(dialect, table, comments.get(table.name, {}))
    return plan


def split_plan(dialect: Dialect, plan: list[str]) -> tuple[list[str], list[str]]:
    """(statements run in one transaction, statements each run alone after it): ALTER COLUMN ... TYPE goes
    alone where the kind refuses it inside a transaction block."""
    if dialect.capabilities.alter_column_in_transaction:
        return plan, []
    return ([s for s in plan if not _ALTER_ALONE.search(s)], [s for s in plan if _ALTER_ALONE.search(s)])


def _catalog_rows(connection: Warehouse, template: str, schemas: list[str]) -> list[dict[str, Any]]:
    """The rows of a catalog query template over these schemas ({schemas}: one bound value each), by name."""
    params = {f"schema_{i}": schema for i, schema in enumerate(schemas)}
    (statement,) = statements(connection.dialect.template(template).replace(
        "{schemas}", ", ".join(f"%({name})s" for name in params)))
    return connection.query_records(statement, params)


def existing_columns(connection: Warehouse, schemas: list[str]) -> dict[str, list[tuple[str, str]]]:
    """{schema.table: [(column, format_type)]} of the tables in these schemas."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for row in _catalog_rows(connection, "existing_columns.sql", schemas):
        tables.setdefault(f"{row['schema_name']}.{row['table_name']}", []).append((row["column_name"],
                                                                                 row["column_type"]))
    return tables


def existing_physical(connection: Warehouse, schemas: list[str]) -> dict[str, set[str]]:
    """{schema.table: {what the kind's existing_physical.sql lists: index names, key columns}}."""
    physical: dict[str, set[str]] = {}
    for row in _catalog_rows(connection, "existing_physical.sql", schemas):
        physical.setdefault(f"{row['schema_name']}.{row['table_name']}", set()).add(row["item"])
    return physical


def existing_comments(connection: Warehouse, schemas: list[str]) -> dict[str, dict[str, str]]:
    """{schema.table: {column or '': comment}}."""
    comments: dict[str, dict[str, str]] = {}
    for row in _catalog_rows(connection, "existing_comments.sql", schemas):
        comments.setdefault(f"{row['schema_name']}.{row['table_name']}", {})[row["column_name"]] = row["description"]
    return comments


SCHEMA_COLUMNS = "ops.schema_columns"
MODEL_BUILDS, TRANSFORM_AUDIT = "analytics.model_builds", "analytics.transform_audit"


def adopt_builds(connection: Warehouse, project: Catalog) -> None:
    """A warehouse transformed by a release without per-model builds: its windows count as built by the
    models of now that their transform listed (what that release assumed), not as stale all at once."""
    now = utcnow()
    for model in project.models.values():
        connection.run_file("transform/adopt_builds.sql", {"model": model.name, "fingerprint": model.fingerprint,
                                                           "listed": f"%, {model.name},%", "built_at": now})


def made_columns(connection: Warehouse, existing: dict[str, list[tuple[str, str]]]) -> dict[str, frozenset[str]]:
    """{table: columns} the pipeline made (ops.schema_columns; none on a warehouse without it yet)."""
    if SCHEMA_COLUMNS not in existing:
        return {}
    made: dict[str, set[str]] = {}
    for table, column in connection.query_file("ops/schema_columns.sql"):
        made.setdefault(table, set()).add(column)
    return {table: frozenset(columns) for table, columns in made.items()}


def record_columns(connection: Warehouse, project: Catalog, made: dict[str, frozenset[str]]) -> None:
    """Record every declared column the warehouse now has and ops.schema_columns does not (what the plan just
    made; on the first run, what an older release made), and forget the recorded ones neither declared nor
    present (a column retired on purpose). Call inside the plan's transaction."""
    schemas = sorted({table.name.split(".")[0] for table in project.tables()})
    present = {table: {column for column, _ in columns}
               for table, columns in existing_columns(connection, schemas).items()}
    declared = {table.name: set(table.column_names) for table in project.tables()}
    now = utcnow()
    connection.insert_rows(SCHEMA_COLUMNS, ("table_name", "column_name", "recorded_at"), [
        (table, column, now) for table, columns in declared.items() for column in sorted(columns)
        if column in present.get(table, set()) and column not in made.get(table, frozenset())])
    for table, columns in made.items():
        for column in sorted(columns - declared.get(table, set()) - present.get(table, set())):
            connection.run_file("ops/forget_schema_column.sql", {"table_name": table, "column_name": column})


def ensure_schema(connection: Warehouse, project: Catalog | None = None, replacing: frozenset[str] = frozenset()
                  ) -> None:
    """Apply the plan in one transaction; nothing to do (the usual case) costs four catalog queries.

    Parallel workers may all get here on a new warehouse; one wins, the others retry and find it done."""
    project = project or catalog()
    for attempt in range(3):
        schemas = sorted({table.name.split(".")[0] for table in project.tables()})
        existing = existing_columns(connection, schemas)
        made = made_columns(connection, existing)
        plan = plan_schema(connection.dialect, project, existing, existing_comments(connection, schemas),
                           existing_physical(connection, schemas), made, replacing)
        if not plan and all(made.get(table.name) == set(table.column_names) for table in project.tables()
                            if table.name not in replacing):
            return
        together, alone = split_plan(connection.dialect, plan)
        try:
            with connection.transaction():
                for statement in together:
                    connection.execute(statement)
                record_columns(connection, project, made)
                if MODEL_BUILDS not in existing and TRANSFORM_AUDIT in existing:
                    adopt_builds(connection, project)
            for statement in alone:  # widening a varchar rewrites nothing: safe to commit one by one
                connection.execute_alone(statement)
            return
        except SchemaError:
            raise
        except Exception:  # a concurrent CREATE or ALTER: the next plan sees the winner's tables
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))
