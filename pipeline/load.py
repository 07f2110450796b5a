"""Load one extracted window: COPY into a private staging table, merge by key (the version read last wins) and
record the load, its drift and its quarantined documents, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.catalog import REGION_COLUMN, Source
from pipeline.extract import read_quarantine
from pipeline.sqlfiles import render
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse

DRIFT_COLUMNS = ("region", "collection", "window_start", "window_end", "field", "observed_type", "documents",
                 "nulled", "examples", "loaded_at")
QUARANTINE_COLUMNS = ("region", "collection", "window_start", "window_end", "document_id", "reason",
                      "quarantine_url", "loaded_at")
DRIFT_TYPE_COLUMNS = ("collection", "field", "observed_type", "first_region", "first_window_start", "first_seen_at")
# The merge matches the lowest tenth of a window's keys (at least this many) apart from the rest, each part
# against the raw table's keys in its own range (merge_bounds.sql), unless the range above the floor holds
# more than this share of the region's rows: then in one join.
PROBED_KEYS_MIN, PROBED_SHARE = 10_000, 0.1
SPLIT_MAX_SHARE = 0.5


@dataclass(frozen=True)
class LoadResult:
    staged: int
    inserted: int
    new_drift: list[tuple[str, str]] = field(default_factory=list)  # (field, observed type) never seen before

    @property
    def kept_newer(self) -> int:
        """Staged rows not inserted because a version read later was already loaded (or the document was read
        twice in the window)."""
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


def read_interval(manifest: Mapping[str, Any]) -> dict[str, dt.datetime]:
    """When the window's read began and ended (naive UTC), for the merge's rule that the version read last
    wins. A replay's manifest carries its extract's; a manifest from before reads were timed, its writing."""
    def moment(name: str) -> dt.datetime:
        value = manifest.get(name) or manifest.get("created_at")
        if not value:
            raise ValueError(f"{manifest.get('path', 'the manifest')}: no {name}; extract the window again "
                             f"(pipeline backfill --rerun)")
        value = dt.datetime.fromisoformat(value)
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value

    return {"read_started": moment("read_started"), "read_ended": moment("read_ended")}


def merge_bounds(connection: Warehouse, source: Source, stage: str, staged: int, region: str
                 ) -> dict[str, Any] | None:
    """merge_match_ranges.sql's key bounds for a staged window (its lowest key, the floor its lower part ends
    at, its highest key), or None where one join costs less (merge_match.sql). A window of new documents (keys
    above the history's, old ones below the floor) splits: the planner expects the raw table's range above the
    floor to hold at most SPLIT_MAX_SHARE of the region's rows. Few keys, or keys spread over the history, do
    not."""
    if staged <= PROBED_KEYS_MIN:
        return None

    template = connection.dialect.statement
    probed = max(PROBED_KEYS_MIN, int(staged * PROBED_SHARE))
    (found,) = connection.query_records(template("merge_bounds.sql", stage=stage, key=source.key,
                                                  probed_keys=probed))
    if found["key_floor"] is None or found["key_floor"] == found["highest"]:
        return None
    bounds = {"region": region, **found}
    above = connection.estimate_rows(template("merge_range_rows.sql", target=source.table, key=source.key), bounds)
    in_region = connection.estimate_rows(template("merge_region_rows.sql", target=source.table, key=source.key),
                                         bounds)
    return bounds if above <= SPLIT_MAX_SHARE * in_region else None


def stage_and_merge(connection: Warehouse, source: Source, manifest: Mapping[str, Any], store: ObjectStore,
                    loaded_at: Any) -> LoadResult:
    """COPY the manifest's parts into a temp table and merge them into the raw table; call inside a
    transaction. The raw table stays locked against other merges until it ends."""
    stage = f"stage_{source.name}"
    columns = part_columns(source, manifest)
    # A temp table is private to this connection, so parallel loads never share staging. Built from
    # the declaration, not `(like target)`: that holds a lock on the target until commit, and two loads
    # upgrading it to the merge's lock would deadlock.
    connection.execute(connection.dialect.create_table(stage, source.file_columns, temporary=True))
    staged = connection.copy_parts(stage, columns, manifest, store) if manifest["parts"] else 0
    if staged != manifest["written"]:  # a part cut short, or a manifest that lost its parts
        raise ValueError(f"{manifest['path']}: staged {staged} rows where the extract wrote "
                         f"{manifest['written']} in {len(manifest['parts'])} part(s); extract the window again "
                         f"(pipeline backfill --rerun)")
    # A temp table has no statistics: the merge would be planned for a guess. It joins on the key and compares
    # cursors, and reads nothing else to decide.
    connection.analyze(stage, [REGION_COLUMN, source.key, source.cursor])
    # Serialize merges into this table: concurrent windows may carry the same document.
    connection.lock([source.table])
    merged, matched = list(source.file_column_names), f"matched_{source.name}"
    bounds = merge_bounds(connection, source, stage, staged, manifest["region"])
    read = read_interval(manifest)
    connection.run_template("merge_match_ranges.sql" if bounds else "merge_match.sql", {**(bounds or {}), **read},
                            target=source.table, stage=stage, matched=matched, key=source.key, cursor=source.cursor)
    counts = connection.run_template("merge.sql", {"loaded_at": loaded_at, **read}, target=source.table,
                                     target_name=source.name, stage=stage, matched=matched, columns=merged,
                                     loaded_columns=[f"loaded.{c}" for c in merged], key=source.key,
                                     cursor=source.cursor, replaced=source.replaced_table_name)
    connection.refresh_statistics(source.table, counts[-1])
    for temp in (stage, matched):
        connection.execute(render("drop table {temp}", temp=temp))
    return LoadResult(staged=staged, inserted=counts[-1])


def clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes (varchar lengths count bytes on Redshift)."""
    return text.encode("utf-8", "backslashreplace")[:limit].decode("utf-8", "ignore")


def record_drift(connection: Warehouse, window: Mapping[str, Any], drift: list[dict], loaded_at: Any) -> None:
    """raw.load_drift rows for a window's drift report (ConversionStats.drift_report, a manifest's `drift`)."""
    connection.insert_rows("raw.load_drift", DRIFT_COLUMNS, [
        (window["region"], window["collection"], window["window_start"], window["window_end"], d["field"],
         d["type"], d["documents"], d["nulled"], ",".join(d["examples"]), loaded_at) for d in drift])


def load_window(connection: Warehouse, source: Source, manifest: Mapping[str, Any], store: ObjectStore,
                audit: Mapping[str, Any]) -> LoadResult:
    """Stage, merge and record one window's parts; a crash anywhere leaves the tables as they were."""
    window = {key: audit[key] for key in ("region", "collection", "window_start", "window_end")}
    quarantined = [(key, reason) for key, reason, _ in read_quarantine(store, manifest["quarantine"])] \
        if manifest.get("quarantine") else []
    with connection.transaction():
        merged = stage_and_merge(connection, source, manifest, store, audit["loaded_at"])
        connection.run_file("load/record_load.sql", {**audit, "staged": merged.staged, "inserted": merged.inserted,
                                                     "kept_newer": merged.kept_newer})
        drift = manifest.get("drift", [])
        record_drift(connection, window, drift, audit["loaded_at"])
        connection.insert_rows("raw.load_quarantine", QUARANTINE_COLUMNS, [
            (*window.values(), clip(key, 512), clip(reason, 4096), manifest["quarantine"], audit["loaded_at"])
            for key, reason in quarantined])
        new_drift = [(d["field"], d["type"]) for d in drift if not connection.count(
            "load/drift_type_seen.sql", {"collection": source.name, "field": d["field"], "observed_type": d["type"]})]
        connection.insert_rows("ops.drift_types", DRIFT_TYPE_COLUMNS, [
            (source.name, name, observed, audit["region"], audit["window_start"], audit["loaded_at"])
            for name, observed in new_drift])
    return LoadResult(merged.staged, merged.inserted, new_drift)
