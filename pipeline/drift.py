"""`pipeline drift`: the values that did not match their declared type, per collection, field and observed type.
Their rows landed (coerced, or NULL with the original in `_drift`); this says where the declarations or the
writers need a fix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.warehouse import Warehouse


@dataclass(frozen=True)
class DriftLine:
    collection: str
    field: str
    observed_type: str
    documents: int
    nulled: int
    windows: int
    first_window: dt.datetime
    last_window_end: dt.datetime
    examples: str


def drift_report(connection: Warehouse, start: dt.datetime, end: dt.datetime) -> list[DriftLine]:
    counts = ("documents", "nulled", "windows")  # sums and counts: a Decimal on some drivers
    return [DriftLine(**{**row, **{name: int(row[name]) for name in counts}})
            for row in connection.records("ops/drift_report.sql", {"start": start, "end": end})]


def format_drift(lines: list[DriftLine]) -> str:
    if not lines:
        return "no type drift in that range"
    out = [f"{'field':<28} {'observed type':<32} {'documents':>9} {'as NULL':>8} {'windows':>7}  first .. last, e.g."]
    out += [f"{line.collection + '.' + line.field:<28} {line.observed_type:<32} {line.documents:>9} "
            f"{line.nulled:>8} {line.windows:>7}  {line.first_window:%Y-%m-%d %H:%M} .. "
            f"{line.last_window_end:%Y-%m-%d %H:%M}, {line.examples}" for line in lines]
    out.append("Rows landed; a coerced value is in its column, the others are NULL there. Every original is in "
               "the row's _drift column (canonical extended JSON).")
    return "\n".join(out)
