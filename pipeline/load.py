"""Load one extracted window: COPY into a private staging table, merge by key (newest version wins) and
record the load, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.catalog import Source
from pipeline.sqlfiles import render
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse


@dataclass(frozen=True)
class LoadResult:
    staged: int
    inserted: int

    @property
    def kept_newer(self) -> int:
        """Staged rows not inserted because a newer version of the document was already loaded."""
        return self.staged - self.inserted


def part_columns(source: Source, manifest: Mapping[str, Any]) -> list[str]:
    """The columns the window's parts were written with (the declaration at extract time). A column declared
    since then stays NULL in this load; one no longer declared cannot be loaded: re-extract the window."""
    columns = list(manifest.get("columns") or source.file_column_names)
    undeclared = [c for c in columns if c not in source.file_column_names]
    if undeclared:
        raise ValueError(f"{manifest.get('path', 'the manifest')}: its parts hold {', '.join(undeclared)}, which "
                         f"{source.path} no longer declares; re-extract the window (pipeline backfill --rerun)")
    return columns


def load_window(connection: Warehouse, source: Source, manifest: Mapping[str, Any], store: ObjectStore,
                audit: Mapping[str, Any]) -> LoadResult:
    """Stage, merge and record one window's parts; a crash anywhere leaves the table as it was."""
    stage = f"stage_{source.name}"
    columns = part_columns(source, manifest)
    with connection.transaction():
        # A temp table is private to this connection, so parallel loads never share staging. Built from
        # the declaration, not `(like target)`: that holds a lock on the target until commit, and two loads
        # upgrading it to the merge's lock would deadlock.
        connection.execute(connection.dialect.create_table(stage, source.file_columns, temporary=True))
        staged = connection.copy_parts(stage, columns, manifest, store) if manifest["parts"] else 0
        if staged != manifest["written"]:  # a part cut short, or a manifest that lost its parts
            raise ValueError(f"{manifest['path']}: staged {staged} rows where the extract wrote "
                             f"{manifest['written']} in {len(manifest['parts'])} part(s); extract the window again "
                             f"(pipeline backfill --rerun)")
        # Serialize merges into this table: concurrent windows may carry the same document.
        connection.run_template("lock.sql", tables=[source.table])
        counts = connection.run_template("merge.sql", {"loaded_at": audit["loaded_at"]}, target=source.table,
                                         target_name=source.name, stage=stage,
                                         columns=list(source.file_column_names), key=source.key,
                                         cursor=source.cursor)
        result = LoadResult(staged=staged, inserted=counts[-1])
        connection.refresh_statistics(source.table, result.inserted)
        connection.run_file("load/record_load.sql", {**audit, "staged": result.staged, "inserted": result.inserted,
                                                     "kept_newer": result.kept_newer})
        connection.execute(render("drop table {stage}", stage=stage))
    return result
