"""A report's rows as CSV, JSON or XLSX, streamed: memory stays flat whatever the row count. The same writers
serve the scheduled exports (into the object store), the console's downloads and the data API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import IO, Any

from pipeline import paths
from pipeline.exports.definitions import ExportDefinition
from pipeline.exports.deliver import Rendered
from pipeline.exports.schedule import Interval
from pipeline.exports.templates import Column, Template
from pipeline.exports.xlsx import write_workbook
from pipeline.sqlfiles import read_sql, statements
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse

HEADER_COLORS = ("FFFFFF", "305496")  # white on the blue of Excel's default table style
MIN_WIDTH, MAX_WIDTH = 8, 60
BY_TYPE = {dt.datetime: "yyyy-mm-dd hh:mm:ss", dt.date: "yyyy-mm-dd"}  # undeclared columns: by the value's type
UTF8_BOM = "\ufeff".encode()
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


class Counted:
    """Row batches passed through, counted: a streamed response knows its rows only once it is sent."""

    def __init__(self, batches: Iterable[list[tuple]]):
        self._batches = batches
        self.rows = 0

    def __iter__(self) -> Iterator[list[tuple]]:
        for batch in self._batches:
            self.rows += len(batch)
            yield batch


def text_value(value: Any) -> Any:
    """How CSV and JSON write a value: timestamps to the second in ISO form, booleans as true/false."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any) -> Any:
    """How CSV writes a value (text_value), and a text a spreadsheet would run as a formula (it starts with
    = + - @, a tab or CR) behind a single quote, as OWASP advises against CSV injection: the cell shows the text
    instead of running it. Numbers stay numbers: only text is quoted."""
    value = text_value(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(labels: list[str], batches: Iterable[list[tuple]], bom: bool = False) -> Iterator[bytes]:
    """UTF-8 CSV, a header row then a chunk per batch; `bom` starts it with a byte order mark (Excel). Every
    CSV the product writes (exports, previews, the data API) comes from here, formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    writer.writerow(labels)
    yield (UTF8_BOM if bom else b"") + take()
    for batch in batches:
        writer.writerows([csv_value(value) for value in row] for row in batch)
        yield take()


def write_csv(labels: list[str], batches: Iterable[list[tuple]], out: IO[bytes], bom: bool = False) -> int:
    """The CSV into a binary file; returns the data rows written."""
    counted = Counted(batches)
    for chunk in csv_chunks(labels, counted, bom):
        out.write(chunk)
    return counted.rows


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def json_chunks(columns: list[str], batches: Iterable[list[tuple]]) -> Iterator[bytes]:
    """A JSON array of objects keyed by column name, a chunk per batch."""
    yield b"["
    first = True
    for batch in batches:
        parts = []
        for row in batch:
            record = {name: _json_number(value) if isinstance(value, Decimal) else
                      value if isinstance(value, bool) else text_value(value) for name, value in zip(columns, row)}
            parts.append(("" if first else ",") + json.dumps(record, ensure_ascii=False))
            first = False
        yield "".join(parts).encode("utf-8")
    yield b"]"


def _width(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return 19
    return len(str(value)) if value is not None else 0


def column_widths(labels: list[str], sample: list[tuple]) -> list[float]:
    """From the header and the first batch: a stream cannot be measured before it is written."""
    widths = [len(label) + 2 for label in labels]
    for row in sample:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _width(value) + 1)
    return [min(max(width, MIN_WIDTH), MAX_WIDTH) for width in widths]


def sheet_name(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return _SHEET_FORBIDDEN.sub(" ", title).strip()[:31] or "Report"


def write_xlsx(columns: list[Column], batches: Iterable[list[tuple]], path: str, sheet_title: str,
               title: str | None = None) -> int:
    """A workbook: a title row naming the report (when given), then a styled, frozen, filtered header of the
    columns' labels, cells typed and in the columns' number formats, widths from the first rows. Streamed
    (pipeline.exports.xlsx): time and memory stay flat in the row count."""
    labels = [column.label for column in columns]
    iterator = iter(batches)
    first = next(iterator, [])
    return write_workbook(path, sheet_title=sheet_name(sheet_title), labels=labels,
                          formats=[column.number_format for column in columns], by_type=BY_TYPE,
                          widths=column_widths(labels, first), batches=itertools.chain([first], iterator),
                          title=title, header_colors=HEADER_COLORS)


def report_title(template: Template, params: dict[str, Any], interval: Interval) -> str:
    """The line above an XLSX table: the report, its parameters (the client), the period."""
    chosen = [f"{template.parameters[name].label}: {value}" for name, value in params.items()
              if name in template.parameters]
    return " · ".join([template.title, *chosen, str(interval)])


@contextmanager
def template_rows(connection: Warehouse, template: Template, params: dict[str, Any], interval: Interval,
                  batch_rows: int, store: ObjectStore | None = None, unload_above: int = 0
                  ) -> Iterator[tuple[list[Column], Iterator[list[tuple]]]]:
    """A template's result for these parameters and interval: its columns (as declared) and row batches.
    Above `unload_above` rows a kind may stage the result in the lake (Redshift: UNLOAD)."""
    (query,) = statements(read_sql(template.query_file))
    bound = {**params, "start": interval.start, "end": interval.end}
    with connection.exporting(), \
            connection.export_rows(query, bound, batch_rows, store, unload_above) as (names, batches):
        yield [template.column(name) for name in names], batches


@contextmanager
def xlsx_file(columns: list[Column], batches: Iterable[list[tuple]], sheet_title: str, title: str
              ) -> Iterator[tuple[str, int]]:
    """A workbook is a zip, written to a seekable file: a local temporary one, removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        local = os.path.join(folder, "export.xlsx")
        rows = write_xlsx(columns, batches, local, sheet_title=sheet_title, title=title)
        yield local, rows


def export_path(definition: ExportDefinition, interval: Interval) -> str:
    return paths.export_path(definition.name, interval.label, definition.format)


def render_export(connection: Warehouse, definition: ExportDefinition, interval: Interval, store: ObjectStore,
                  batch_rows: int, unload_above: int = 0) -> Rendered:
    """Run the export's template for the interval and stream its rows into a file in the store."""
    path = export_path(definition, interval)
    template = definition.template
    with template_rows(connection, template, definition.params, interval, batch_rows, ObjectStore.from_config(),
                       unload_above) as (columns, batches):
        if definition.format == "csv":
            with store.open_write(path) as out:
                rows = write_csv([column.label for column in columns], batches, out, bom=definition.csv_bom)
        else:
            title = report_title(template, definition.params, interval)
            with xlsx_file(columns, batches, template.title, title) as (local, rows), open(local, "rb") as source, \
                    store.open_write(path) as out:
                shutil.copyfileobj(source, out, 1 << 20)
    return Rendered(path=path, url=store.url(path), rows=rows, bytes=store.size(path),
                    columns=tuple(column.name for column in columns))
