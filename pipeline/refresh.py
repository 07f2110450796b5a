"""Full refresh: one model rebuilt over the whole history at once (set-based, not window by window) into a
shadow table, tested there, and swapped in within the transaction that built it: readers see the old rows
or the new ones, never a mix or an empty table. It reads the raw tables and the models it depends on, never
the sources or the object store.

What it is for: a model whose columns were removed or retyped (the window rebuild cannot change a table's
shape), a key whose meaning changed (rows of keys no definition produces any more are left by a window
rebuild, not by this), or a year of history where one statement beats thousands of windows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass

from pipeline.catalog import Catalog, Model
from pipeline.transform import check, lock_models, model_statements, rows_table, run_tests, touched_table
from pipeline.warehouse import Dialect, Warehouse

# The whole history as one span: every raw row's cursor lies in it.
ALL_TIME = {"window_start": dt.datetime(1, 1, 1), "window_end": dt.datetime(9999, 12, 31)}


@dataclass(frozen=True)
class Refreshed:
    model: str
    rows: int
    seconds: float


def shadow_table(model: Model) -> str:
    return f"{model.table}__shadow"


def _regions(connection: Warehouse) -> list[str]:
    """Every region transformed so far (not only the configured ones: a shadow without a retired region's rows
    would drop them)."""
    return [region for (region,) in connection.query_file("transform/transformed_regions.sql")]


@dataclass(frozen=True)
class RefreshStatements:
    """The SQL a full refresh sends for one model, besides its window statements (pipeline.transform)."""

    drop_shadow: str
    create_shadow: str
    fill_shadow: str  # from the model's rebuilt rows of one region
    drop_live: str
    swap: str
    count: str


def refresh_statements(model: Model, dialect: Dialect) -> RefreshStatements:
    """The statements from the kind's templates (model_*.sql, table_*.sql) and its CREATE TABLE."""
    shadow, live = shadow_table(model), model.analytics_table()
    statement = dialect.statement
    return RefreshStatements(
        drop_shadow=statement("table_drop_if_exists.sql", table=shadow),
        create_shadow=dialect.create_table(dataclasses.replace(live, name=shadow), live.columns),
        fill_shadow=statement("model_insert.sql", table=shadow, columns=live.column_names,
                              rows=rows_table(model.name)),
        drop_live=statement("table_drop.sql", table=model.table),
        swap=statement("model_swap.sql", shadow=shadow, name=model.name),
        count=statement("table_count.sql", table=model.table),
    )


def full_refresh(connection: Warehouse, project: Catalog, model: Model, refreshed_at: dt.datetime) -> Refreshed:
    """Rebuild `model` from all the raw rows of every region into its shadow table, run its data tests on it,
    and swap it in, recording the model as built for every transformed window; all in one transaction."""
    started = time.monotonic()
    sql = refresh_statements(model, connection.dialect)
    windows = {m: model_statements(m, project, connection.dialect) for m in project.with_upstream([model])}
    with connection.transaction():
        lock_models(connection, project)  # no window transform writes the model meanwhile
        connection.execute(sql.drop_shadow)
        connection.execute(sql.create_shadow)
        for region in _regions(connection):
            params = {"region": region, **ALL_TIME}
            # Every key: the refreshed model's from all the raw rows (its touched query over all time); a model
            # it reads is current (refreshed before it, if at all), so its own table holds all of its keys.
            for upstream, built in windows.items():
                connection.execute(built.create_touched if upstream == model else built.create_all_keys,
                                   params)
                connection.analyze(touched_table(upstream.name))
            connection.execute(windows[model].create_rows, params)
            connection.execute(sql.fill_shadow)
            connection.execute(windows[model].drop_rows)
            for built in windows.values():
                connection.execute(built.drop_touched)
        connection.analyze(shadow_table(model))
        check(run_tests(connection, model, shadow_table(model)), f"full refresh of analytics.{model.name}")
        connection.execute(sql.drop_live)
        connection.execute(sql.swap)
        for statement in connection.dialect.physical_plan(model.analytics_table(), None):  # indexes, own names
            connection.execute(statement)
        (rows,) = connection.query(sql.count)[0]
        seconds = time.monotonic() - started
        params = {"model": model.name, "fingerprint": model.fingerprint, "built_at": refreshed_at}
        connection.run_file("transform/record_all_builds.sql", params)
        connection.run_file("transform/record_refresh.sql", {**params, "row_count": rows, "seconds": seconds,
                                                             "refreshed_at": refreshed_at})
    return Refreshed(model.name, int(rows), seconds)
