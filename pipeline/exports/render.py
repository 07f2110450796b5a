"""Render an export's query results as CSV or XLSX into the object store, streaming: memory stays flat
whatever the row count."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline import paths
from pipeline.config import warehouse
from pipeline.exports.definitions import ExportDefinition
from pipeline.exports.deliver import Rendered
from pipeline.exports.schedule import Interval
from pipeline.sqlfiles import read_sql, statements
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
MIN_WIDTH, MAX_WIDTH = 8, 60
FORMATS = {dt.datetime: "yyyy-mm-dd hh:mm:ss", dt.date: "yyyy-mm-dd"}


def write_csv(columns: list[str], batches: Iterable[list[tuple]], out: IO[bytes]) -> int:
    """UTF-8 CSV with a header row; returns the data rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for batch in batches:
        writer.writerows(batch)
        count += len(batch)
    text.flush()
    text.detach()
    return count


def _width(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return 19
    return len(str(value)) if value is not None else 0


def column_widths(columns: list[str], sample: list[tuple]) -> list[float]:
    """From the header and the first batch: a stream cannot be measured before it is written."""
    widths = [len(name) + 2 for name in columns]
    for row in sample:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _width(value) + 1)
    return [min(max(width, MIN_WIDTH), MAX_WIDTH) for width in widths]


def _cell_value(value: Any) -> Any:
    # Excel has no decimal type; a float keeps numbers numeric (exact up to 15 digits).
    return float(value) if isinstance(value, Decimal) else value


def write_xlsx(columns: list[str], batches: Iterable[list[tuple]], path: str, sheet_title: str) -> int:
    """A write-only workbook: typed cells, styled and frozen header, autofilter, sized columns."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    iterator = iter(batches)
    first = next(iterator, [])
    for index, width in enumerate(column_widths(columns, first), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center")
        header.append(cell)
    sheet.append(header)
    count = 0
    for batch in itertools.chain([first], iterator):
        for row in batch:
            cells = []
            for value in row:
                value = _cell_value(value)
                number_format = FORMATS.get(type(value))
                if number_format:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = number_format
                    cells.append(cell)
                else:
                    cells.append(value)
            sheet.append(cells)
        count += len(batch)
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{count + 1}"
    workbook.save(path)
    return count


def export_path(definition: ExportDefinition, interval: Interval) -> str:
    return paths.export_path(definition.name, interval.label, definition.format)


def render_export(connection: Warehouse, definition: ExportDefinition, interval: Interval, store: ObjectStore,
                  batch_rows: int, unload_above: int = 0) -> Rendered:
    """Run the export's query for the interval and stream its rows into a file in the store. Above
    `unload_above` rows a kind may stage the result in the lake (Redshift: UNLOAD)."""
    (query,) = statements(read_sql(definition.query_file))
    params = {**definition.params, "start": interval.start, "end": interval.end}
    path = export_path(definition, interval)
    with connection.query_group(warehouse().exports_query_group), \
            connection.export_rows(query, params, batch_rows, ObjectStore.from_config(), unload_above) as (
                columns, batches):
        if definition.format == "csv":
            with store.open_write(path) as out:
                rows = write_csv(columns, batches, out)
        else:
            # openpyxl writes a zip, which needs a seekable file: a local temp file, then into the store.
            with tempfile.TemporaryDirectory() as folder:
                local = os.path.join(folder, "export.xlsx")
                rows = write_xlsx(columns, batches, local, sheet_title=definition.name)
                with open(local, "rb") as source, store.open_write(path) as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    return Rendered(path=path, url=store.url(path), rows=rows, bytes=store.size(path), columns=tuple(columns))
