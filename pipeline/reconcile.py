"""`pipeline reconcile`: documents deleted in MongoDB leave the warehouse.

Per region and source, the keys whose current version has its cursor in the range are looked up in MongoDB
by key (only the key returned, in batches: the `_id` index serves it). The missing ones are deleted from the
raw table, their last version kept in raw.<source>_replaced, and every transformed window holding one of
their cursors is transformed again, which rebuilds all analytics rows they fed. Safe to run with sync (the
same locks), and idempotent (a key already gone is not found again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.catalog import Catalog, Column, Source
from pipeline.convert import key_cell, objectid_value
from pipeline.progress import Steps
from pipeline.sources import existing_keys, source_collection, window_slices
from pipeline.sqlfiles import read_sql, render, statements
from pipeline.transform import transform_window
from pipeline.warehouse import Warehouse
from pipeline.windows import Window

# The keys are read a few hours of cursor at a time: each query stays on the cursor's index (Redshift: its sort
# key), and a cursor held open on Redshift's leader node holds only that much, whatever the range.
KEY_SLICE_MINUTES = 6 * 60

GONE_TABLE, GONE_CURSORS = "reconcile_gone", "reconcile_gone_cursors"
# How a key stored as text in the warehouse is looked up in MongoDB.
KEY_VALUES: dict[str, Callable[[str], Any]] = {"objectid": objectid_value, "text": str, "int": int}
Lookup = Callable[[str, list[Any]], set[Any]]  # (collection, keys) -> the keys MongoDB still has


@dataclass
class ReconcileResult:
    checked: dict[tuple[str, str], int] = field(default_factory=dict)  # (region, collection) -> keys looked up
    deleted: dict[tuple[str, str], int] = field(default_factory=dict)
    windows: list[tuple[str, Window]] = field(default_factory=list)  # transformed again


def missing_keys(source: Source, loaded: list[tuple[str, dt.datetime]], lookup: Lookup) -> list[tuple[str, Any]]:
    """(key, cursor) of the loaded rows whose key MongoDB no longer has, each looked up as the value its cell
    stands for (an ObjectId, or a string that only looks like one)."""
    kind = source.key_column.type
    present = {key_cell(kind, value) for value in lookup(source.name, [KEY_VALUES[kind](key) for key, _ in loaded])}
    return [(key, cursor) for key, cursor in loaded if key not in present]


def delete_keys(connection: Warehouse, source: Source, region: str, gone: list[tuple[str, Any]],
                now: dt.datetime) -> int:
    """Move the rows of these (key, cursor) to the replaced table and delete them, and unmark the windows
    holding their cursors, in one transaction."""
    key_column = source.key_column
    columns = list(source.file_column_names)
    with connection.transaction():
        connection.execute(connection.dialect.create_table(
            GONE_TABLE, [Column("region", "text", max_length=32), key_column], temporary=True))
        connection.insert_rows(GONE_TABLE, ("region", source.key), [(region, key) for key, _ in gone])
        connection.execute(connection.dialect.create_table(
            GONE_CURSORS, [Column("cursor_at", "timestamp")], temporary=True))
        connection.insert_rows(GONE_CURSORS, ("cursor_at",), [(cursor,) for _, cursor in gone])
        connection.run_statements(render(read_sql("reconcile/unmark.sql"), gone_cursors=GONE_CURSORS),
                                  {"region": region})
        connection.lock([source.table])
        counts = connection.run_statements(render(
            read_sql("reconcile/delete.sql"), target=source.table, target_name=source.name,
            replaced=source.replaced_table_name, gone=GONE_TABLE, columns=columns,
            loaded_columns=[f"loaded.{c}" for c in columns], key=source.key, cursor=source.cursor),
            {"deleted_at": now})
        connection.execute(render("drop table {gone}", gone=GONE_TABLE))
        connection.execute(render("drop table {gone}", gone=GONE_CURSORS))
    return counts[-1]


def windows_holding(transformed: list[tuple[dt.datetime, dt.datetime]], cursors: list[dt.datetime]
                    ) -> list[Window]:
    """The transformed windows that hold at least one of the cursors."""
    return [Window(start, end) for start, end in transformed if any(start <= c < end for c in cursors)]


def reconcile_region(connection: Warehouse, project: Catalog, region: str, lookup: Lookup, start: dt.datetime,
                     end: dt.datetime, now: dt.datetime, batch_size: int, result: ReconcileResult,
                     dry_run: bool = False, steps: Steps | None = None) -> None:
    """Delete what MongoDB no longer has and transform the windows that held it (dry_run: only count)."""
    cursors: list[dt.datetime] = []
    # The transformed windows that may hold deleted documents, read before any delete unmarks them.
    marked = connection.query_file("reconcile/windows.sql", {"region": region, "start": start, "end": end})
    transformed = [(ws, we) for ws, we, _ in marked]
    declared = {Window(ws, we): signature for ws, we, signature in marked}
    for source in project.sources.values():
        if steps is not None:
            steps.start(f"{region}.{source.name}")
        (sql,) = statements(render(read_sql("reconcile/loaded_keys.sql"), table=source.table, key=source.key,
                                   cursor=source.cursor))
        checked, gone = 0, []
        # Streamed: a look-back of days holds millions of keys; only the missing ones are kept.
        for piece in window_slices(Window(start, end), KEY_SLICE_MINUTES):
            params = {"region": region, "start": piece.start, "end": piece.end}
            with connection.stream(sql, params, batch_size) as (_, rows):
                for batch in rows:
                    checked += len(batch)
                    gone += missing_keys(source, [(str(key), cursor) for key, cursor in batch], lookup)
        result.checked[(region, source.name)] = checked
        result.deleted[(region, source.name)] = len(gone) if dry_run or not gone else delete_keys(
            connection, source, region, gone, now)
        cursors += [cursor for _, cursor in gone]
        if steps is not None:
            steps.advance()
    if not cursors:
        return
    for window in windows_holding(transformed, cursors):
        if not dry_run:
            transform_window(connection, project, region, window, now, declared=declared[window])
        result.windows.append((region, window))


def reconcile_sources(connection: Warehouse, project: Catalog, uris: dict[str, str], start: dt.datetime,
                      end: dt.datetime, now: dt.datetime, batch_size: int, dry_run: bool = False,
                      steps: Steps | None = None) -> ReconcileResult:
    """Every region's sources against the warehouse over [start, end): each collection of each region a step."""
    result = ReconcileResult()
    if steps is not None:
        steps.total = len(uris) * len(project.sources)
    for region, uri in uris.items():
        def lookup(collection: str, values: list, uri: str = uri) -> set:
            return existing_keys(source_collection(uri, collection), project.source(collection).key, values)

        reconcile_region(connection, project, region, lookup, start, end, now, batch_size, result,
                         dry_run=dry_run, steps=steps)
    return result


def format_reconcile(result: ReconcileResult, dry_run: bool = False) -> str:
    deleted = "would delete" if dry_run else "deleted"
    lines = [f"{'region':<8} {'collection':<14} {'checked':>9} {deleted:>12}"]
    lines += [f"{region:<8} {collection:<14} {checked:>9} {result.deleted.get((region, collection), 0):>12}"
              for (region, collection), checked in result.checked.items()]
    windows = ", ".join(f"{region} {window}" for region, window in result.windows) or "none"
    lines.append(f"windows {'that would be ' if dry_run else ''}transformed again: {windows}")
    return "\n".join(lines)
