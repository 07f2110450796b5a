"""CSV and XLSX rendering on local files: header, typed cells, frozen header, autofilter, widths."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl

from pipeline.exports.render import column_widths, write_csv, write_xlsx

COLUMNS = ["started_at", "day", "client", "messages", "rate", "engaged"]
ROWS = [(dt.datetime(2026, 11, 27, 10, 5), dt.date(2026, 11, 27), "acmé 🔑", 12, Decimal("33.5"), True),
        (dt.datetime(2026, 11, 27, 11, 0), dt.date(2026, 11, 27), None, 0, None, False)]


def test_csv_is_utf8_with_a_header_row():
    out = io.BytesIO()
    assert write_csv(COLUMNS, [ROWS[:1], ROWS[1:]], out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert rows[0] == COLUMNS
    assert rows[1] == ["2026-11-27 10:05:00", "2026-11-27", "acmé 🔑", "12", "33.5", "True"]
    assert rows[2][2] == ""


def test_xlsx_has_typed_cells_a_styled_frozen_header_and_an_autofilter(tmp_path):
    path = tmp_path / "x.xlsx"
    assert write_xlsx(COLUMNS, [ROWS[:1], ROWS[1:]], str(path), sheet_title="acme_weekly") == 2
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "acme_weekly"
    assert [c.value for c in sheet[1]] == COLUMNS
    assert sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb.endswith("305496")
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"
    started, day, client, messages, rate, engaged = (c.value for c in sheet[2])
    assert started == dt.datetime(2026, 11, 27, 10, 5) and sheet["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert isinstance(day, dt.datetime) and sheet["B2"].number_format == "yyyy-mm-dd"  # Excel dates are datetimes
    assert (client, messages, rate, engaged) == ("acmé 🔑", 12, 33.5, True)
    assert sheet.column_dimensions["A"].width == 20


def test_xlsx_of_an_empty_result_still_has_its_header(tmp_path):
    path = tmp_path / "empty.xlsx"
    assert write_xlsx(COLUMNS, [], str(path), sheet_title="empty") == 0
    assert [c.value for c in openpyxl.load_workbook(path).active[1]] == COLUMNS


def test_widths_fit_the_header_and_sample_within_bounds():
    assert column_widths(["a", "long_column_name"], [("x" * 100, 1)]) == [60, 18]
