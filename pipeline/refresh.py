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
from pipeline.sqlfiles import quote_ident
from pipeline.transform import check, lock_models, model_statements, rows_table, run_tests, touched_table
from pipeline.warehouse import Warehouse

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


def full_refresh(connection: Warehouse, project: Catalog, model: Model, refreshed_at: dt.datetime) -> Refreshed:
    """Rebuild `model` from all the raw rows of every region into its shadow table, run its data tests on it,
    and swap it in, recording the model as built for every transformed window; all in one transaction."""
    started = time.monotonic()
    shadow = shadow_table(model)
    live = model.analytics_table()
    statements = {m: model_statements(m, project) for m in project.with_upstream([model])}
    columns = ", ".join(quote_ident(c.name) for c in model.columns)
    with connection.transaction():
        lock_models(connection, project)  # no window transform writes the model meanwhile
        connection.execute(f"drop table if exists {quote_ident(shadow)}")
        connection.execute(connection.dialect.create_table(dataclasses.replace(live, name=shadow), live.columns))
        for region in _regions(connection):
            params = {"region": region, **ALL_TIME}
            for upstream, sql in statements.items():  # every key: the touched keys of all time
                connection.execute(sql.create_touched, params)
                connection.analyze(touched_table(upstream.name))
            connection.execute(statements[model].create_rows, params)
            connection.execute(f"insert into {quote_ident(shadow)} ({columns})\nselect {columns}\n"
                               f"from {quote_ident(rows_table(model.name))}")
            connection.execute(statements[model].drop_rows)
            for sql in statements.values():
                connection.execute(sql.drop_touched)
        connection.analyze(shadow)
        check(run_tests(connection, model, shadow), f"full refresh of analytics.{model.name}")
        connection.execute(f"drop table {quote_ident(model.table)}")
        connection.execute(f"alter table {quote_ident(shadow)} rename to {quote_ident(model.name)}")
        for statement in connection.dialect.physical_plan(live, None):  # its indexes, under its own name
            connection.execute(statement)
        (rows,) = connection.query(f"select count(*) from {quote_ident(model.table)}")[0]
        seconds = time.monotonic() - started
        params = {"model": model.name, "fingerprint": model.fingerprint, "built_at": refreshed_at}
        connection.run_file("transform/record_all_builds.sql", params)
        connection.run_file("transform/record_refresh.sql", {**params, "row_count": rows, "seconds": seconds,
                                                             "refreshed_at": refreshed_at})
    return Refreshed(model.name, int(rows), seconds)
