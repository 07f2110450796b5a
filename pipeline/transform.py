"""Rebuild analytics models for what one (region, window) touched, in dependency order, and run the models'
data tests on the rows rebuilt; all in one transaction with the audit rows.

Per model (sql/models/<model>/): its touched keys (model.yml `incremental.touched`) are read before any
model changes, and again after its upstream models were rebuilt (a key may move, e.g. a conversation's
day). `model.sql` selects the rows of those keys into a temp table; the data tests read it (cost follows
the window, not the table); then the model's old rows of those keys are replaced by it.

A window's transform (after its load) rebuilds every model and consumes the replaced versions it read;
`rebuild_models` rebuilds only some models over a span of transformed windows, from the raw tables alone
(a changed model definition: see pipeline.catalog.model_fingerprint). Each build is recorded per window and
model in analytics.model_builds."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.catalog import REPLACED_BY_COLUMN, Catalog, DataTest, Model, Source
from pipeline.sqlfiles import Filling, Fragment, KeyMatch, Placeholders, read_sql, render
from pipeline.warehouse import Dialect, Warehouse
from pipeline.windows import Window

logger = logging.getLogger(__name__)
SAMPLE_ROWS = 5


class DataTestError(RuntimeError):
    """A model's data test failed; the message names the model, the test and offending keys."""


@dataclass(frozen=True)
class TestOutcome:
    model: str
    test: DataTest
    sample: list[tuple]  # offending rows (at most SAMPLE_ROWS); empty when the test passed

    @property
    def passed(self) -> bool:
        return not self.sample

    def describe(self) -> str:
        if self.passed:
            return f"analytics.{self.model}: {self.test.label} ok"
        rows = ", ".join(str(tuple(row)) for row in self.sample)
        level = "FAILED" if self.test.severity == "error" else "warning"
        return f"analytics.{self.model}: {self.test.label} {level}; offending keys (first {SAMPLE_ROWS}): {rows}"


def touched_table(model: str) -> str:
    """The temp table of a model's touched keys, private to the transform that creates and drops it."""
    return f"touched_{model}"


def rows_table(model: str) -> str:
    """The temp table of a model's rebuilt rows: tested before they replace the old ones."""
    return f"rebuilt_{model}"


def changed_rows(source: Source, dialect: Dialect) -> str:
    """`{changed_<source>}`: the source's rows this window changed, old and new (model_changed_rows.sql)."""
    return dialect.statement("model_changed_rows.sql", columns=source.file_column_names, table=source.table,
                             replaced=source.replaced_table_name, cursor=source.cursor, replaced_by=REPLACED_BY_COLUMN)


def _rendered(model: Model, sql: str, project: Catalog, dialect: Dialect) -> Fragment:
    """A model's SQL with {touched} (its own keys), {touched_<upstream>} (an upstream model's) and
    {changed_<source>} filled; the catalog has checked that it uses no other placeholder."""
    for name in model.depends_on_sources:
        sql = sql.replace(f"{{changed_{name}}}", changed_rows(project.source(name), dialect))
    identifiers = {f"touched_{name}": touched_table(name) for name in model.depends_on_models}
    return Fragment(render(sql, touched=touched_table(model.name), **identifiers))


def data_test_query(model: Model, test: DataTest, relation: str, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """A query returning up to SAMPLE_ROWS rows of `relation` (the model's table, or the rows a window
    rebuilt) that fail one data test (data_test_<kind>.sql), and its bound values."""
    params = {f"accepted_{i}": value for i, value in enumerate(test.values)}
    identifiers: dict[str, Filling] = {"relation": relation, "sample": SAMPLE_ROWS, "column": f"t.{test.columns[0]}",
                                       "key": [f"t.{column}" for column in model.unique_key]}
    if test.kind == "unique":
        identifiers["columns"] = [f"t.{column}" for column in test.columns]
    elif test.kind == "accepted_values":
        identifiers["accepted"] = Placeholders(tuple(params))
    elif test.kind == "relationships":
        identifiers.update(to_table=test.to_table, to_column=f"p.{test.to_field}")
    return dialect.statement(f"data_test_{test.kind}.sql", **identifiers), params


def run_tests(connection: Warehouse, model: Model, relation: str) -> list[TestOutcome]:
    outcomes = []
    for test in model.tests:
        sql, values = data_test_query(model, test, relation, connection.dialect)
        outcomes.append(TestOutcome(model.name, test, connection.query(sql, values)))
    return outcomes


def check(outcomes: list[TestOutcome], context: str) -> None:
    """Log warnings; raise DataTestError for failed tests of severity error."""
    for outcome in outcomes:
        if not outcome.passed and outcome.test.severity == "warn":
            logger.warning("%s: %s", context, outcome.describe())
    failed = [o for o in outcomes if not o.passed and o.test.severity == "error"]
    if failed:
        raise DataTestError(f"{context}: data test failed: " + "; ".join(o.describe() for o in failed))


@dataclass(frozen=True)
class ModelStatements:
    """The SQL the runner sends for one model, its values bound from the window's parameters."""

    create_touched: str  # the touched keys as the tables are before the window's rebuild
    create_all_keys: str  # instead, every key the model's table holds (a full refresh of a model reading it)
    add_moved: str  # keys the upstream rebuild moved (for a model that reads other models)
    create_rows: str  # model.sql for the touched keys, into a temp table the data tests read
    delete: str
    insert: str
    count_touched: str
    drop_rows: str
    drop_touched: str


def model_statements(model: Model, project: Catalog, dialect: Dialect) -> ModelStatements:
    """A model's statements from the kind's templates (model_*.sql): a kind that words one differently (no
    DELETE ... USING, say) has its own file."""
    touched, rows = touched_table(model.name), rows_table(model.name)
    keys = _rendered(model, model.touched_sql, project, dialect)
    columns = [column.name for column in model.columns]
    statement = dialect.statement
    return ModelStatements(
        create_touched=statement("model_touched.sql", touched=touched, keys=keys),
        create_all_keys=statement("model_all_keys.sql", touched=touched, key=model.key, table=model.table),
        add_moved=statement("model_moved_keys.sql", touched=touched, keys=keys),
        create_rows=statement("model_rows.sql", rows=rows, columns=columns,
                              select=_rendered(model, model.select_sql, project, dialect)),
        delete=statement("model_delete.sql", table=model.table, touched=touched, name=model.name,
                         matches=KeyMatch(model.name, touched, model.key)),
        insert=statement("model_insert.sql", table=model.table, columns=columns, rows=rows),
        count_touched=statement("table_count.sql", table=touched),
        drop_rows=statement("table_drop.sql", table=rows),
        drop_touched=statement("table_drop.sql", table=touched),
    )


def rebuild_model(connection: Warehouse, model: Model, sql: ModelStatements, params: dict[str, Any],
                  context: str) -> int:
    """Rebuild the model's rows of its touched keys, test them, and replace the old ones with them; return
    the keys touched."""
    if model.depends_on_models:  # the upstream rebuild may have moved keys: add where they are now
        connection.execute(sql.add_moved, params)
        connection.analyze(touched_table(model.name))
    connection.execute(sql.create_rows, params)
    check(run_tests(connection, model, rows_table(model.name)), f"{context}, model {model.name}")
    connection.execute(sql.delete, params)
    # A model read by the next ones is planned on fresh statistics (a join on a table the planner takes for
    # empty nests loops: 2 s instead of 0.1 s for a 40k-conversation day).
    connection.refresh_statistics(model.table, connection.execute(sql.insert, params))
    return int(connection.query(sql.count_touched)[0][0])


def lock_models(connection: Warehouse, project: Catalog) -> None:
    """One transform at a time rewrites the models: two delete+insert runs of the same keys would duplicate
    rows. Readers are not blocked where the kind allows it (see its lock.sql). And the replaced versions it
    reads: a load or reconcile committing some while this runs would have them deleted unread by a window's
    transform (each statement reads a fresh snapshot)."""
    connection.lock([*(m.table for m in project.models.values()),
                     *(s.replaced_table_name for s in project.sources.values())])


def _rebuild(connection: Warehouse, project: Catalog, models: list[Model], params: dict[str, Any], context: str,
             progress: Callable[[str, int, int], None] | None) -> int:
    """Rebuild `models` (in dependency order) for the keys the span's rows touched; the touched keys of the
    models they read are made first, as the tables are before any rebuild. Returns the keys touched."""
    built = {model: model_statements(model, project, connection.dialect) for model in project.with_upstream(models)}
    for model, sql in built.items():
        connection.execute(sql.create_touched, params)
        connection.analyze(touched_table(model.name))  # temp tables get no automatic statistics
    keys_touched = 0
    for done, model in enumerate(models, start=1):
        keys_touched += rebuild_model(connection, model, built[model], params, context)
        connection.execute(built[model].drop_rows)
        if progress:
            progress(model.name, done, len(models))
    for sql in built.values():
        connection.execute(sql.drop_touched)
    return keys_touched


def _record_builds(connection: Warehouse, models: list[Model], params: dict[str, Any], span: Window,
                   built_at: dt.datetime) -> None:
    for model in models:
        connection.run_file("transform/record_builds.sql", {
            "region": params["region"], "span_start": span.start, "span_end": span.end, "model": model.name,
            "fingerprint": model.fingerprint, "built_at": built_at})


def transform_window(connection: Warehouse, project: Catalog, region: str, window: Window,
                     transformed_at: dt.datetime, progress: Callable[[str, int, int], None] | None = None,
                     declared: str | None = None) -> int:
    """Rebuild every model, test and record one (region, window); return the keys touched over all models.
    `progress` hears (model, models done, models) after each one. `declared` (default: the catalog's
    signature) is what the marker says the window was transformed with: a repair that loaded no new source
    keeps the old one."""
    params = {"region": region, "window_start": window.start, "window_end": window.end}
    models = list(project.models.values())
    with connection.transaction():
        lock_models(connection, project)
        keys_touched = _rebuild(connection, project, models, params, f"transform of {region} {window}", progress)
        for source in project.sources.values():  # what the replaced versions fed is rebuilt now
            connection.run_statements(render(read_sql("load/consume_replaced.sql"),
                                             replaced=source.replaced_table_name), params)
        connection.run_file("load/record_transform.sql", {**params, "keys_touched": keys_touched,
                                                          "declared": project.signature if declared is None
                                                          else declared,
                                                          "transformed_at": transformed_at})
        _record_builds(connection, models, params, window, transformed_at)
    return keys_touched


def rebuild_models(connection: Warehouse, project: Catalog, region: str, span: Window, models: list[Model],
                   built_at: dt.datetime, progress: Callable[[str, int, int], None] | None = None) -> int:
    """Rebuild only `models` (their dependents are the caller's to include) for what the raw rows of `span`
    touched, and record them as built for every transformed window inside it; return the keys touched.

    Reads the raw tables alone (no source, no object store) and leaves the other models and the replaced
    versions as they are: the windows' own transforms consumed those."""
    params = {"region": region, "window_start": span.start, "window_end": span.end}
    with connection.transaction():
        lock_models(connection, project)
        keys_touched = _rebuild(connection, project, models, params, f"rebuild of {region} {span}", progress)
        _record_builds(connection, models, params, span, built_at)
    return keys_touched


def stale_in_span(models: Iterable[Model], rows: Iterable[dict[str, Any]], done_after: dt.datetime) -> list[Model]:
    """The `models` that did not build, as defined now and since done_after, every transformed window of a span:
    `rows` (transform/span_builds.sql) hold window_start, window_end, model, fingerprint and built_at, one per
    window and model that built it (model None for a window none built)."""
    rows = list(rows)
    windows = {(row["window_start"], row["window_end"]) for row in rows}
    built: dict[tuple[str, str], set] = {}
    for row in rows:
        if row["model"] is not None and row["built_at"] >= done_after:
            built.setdefault((row["model"], row["fingerprint"]), set()).add((row["window_start"], row["window_end"]))
    return [model for model in models if built.get((model.name, model.fingerprint), set()) != windows]


def check_models(connection: Warehouse, project: Catalog, names: Iterable[str] = ()) -> list[TestOutcome]:
    """Every data test of the named models (default: all) over whole tables."""
    chosen = [project.model(name) for name in names] or list(project.models.values())
    return [outcome for model in chosen for outcome in run_tests(connection, model, model.table)]
