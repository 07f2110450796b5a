"""CSV, JSON and XLSX rendering on local files: labels, values as customer success reads them, typed and
formatted cells, title row, frozen header, autofilter, widths."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl

from pipeline.exports.render import column_widths, json_chunks, report_title, sheet_name, write_csv, write_xlsx
from pipeline.exports.schedule import Interval
from pipeline.exports.templates import Column, Parameter, Template

COLUMNS = [Column("started_at", "Started at", "datetime"), Column("day", "Day", "date"),
           Column("client", "Client"), Column("messages", "Messages", "integer"),
           Column("rate", "Engagement", "percent"), Column("engaged", "Engaged", "boolean")]
NAMES = [column.name for column in COLUMNS]
LABELS = [column.label for column in COLUMNS]
ROWS = [(dt.datetime(2026, 11, 27, 10, 5, 7, 123456), dt.date(2026, 11, 27), "acmé 🔑", 12345, Decimal("0.335"), True),
        (dt.datetime(2026, 11, 27, 11, 0), dt.date(2026, 11, 27), None, 0, None, False)]


def test_csv_is_utf8_with_labels_iso_timestamps_to_the_second_and_true_false():
    out = io.BytesIO()
    assert write_csv(LABELS, [ROWS[:1], ROWS[1:]], out) == 2
    assert not out.getvalue().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert rows[0] == LABELS
    assert rows[1] == ["2026-11-27T10:05:07", "2026-11-27", "acmé 🔑", "12345", "0.335", "true"]
    assert rows[2][2] == "" and rows[2][5] == "false"


def test_csv_for_excel_starts_with_a_byte_order_mark():
    out = io.BytesIO()
    write_csv(LABELS, [ROWS], out, bom=True)
    assert out.getvalue().startswith(b"\xef\xbb\xbfStarted at,")
    assert out.getvalue().decode("utf-8-sig").splitlines()[0] == ",".join(LABELS)


def test_json_is_an_array_of_objects_by_column_name_with_typed_values():
    records = json.loads(b"".join(json_chunks(NAMES, [ROWS[:1], [], ROWS[1:]])))
    assert records[0] == {"started_at": "2026-11-27T10:05:07", "day": "2026-11-27", "client": "acmé 🔑",
                          "messages": 12345, "rate": 0.335, "engaged": True}
    assert records[1]["client"] is None and records[1]["engaged"] is False
    assert json.loads(b"".join(json_chunks(NAMES, []))) == []


def test_xlsx_has_a_title_row_labels_number_formats_a_frozen_header_and_an_autofilter(tmp_path):
    path = tmp_path / "x.xlsx"
    assert write_xlsx(COLUMNS, [ROWS[:1], ROWS[1:]], str(path), sheet_title="Engagement: by language/device",
                      title="Engagement · Client: acme · 2026-11-23 to 2026-11-29") == 2
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "Engagement  by language device"
    assert sheet["A1"].value == "Engagement · Client: acme · 2026-11-23 to 2026-11-29" and sheet["A1"].font.b
    assert [c.value for c in sheet[2]] == LABELS
    assert sheet["A2"].font.b and sheet["A2"].fill.fgColor.rgb.endswith("305496")
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:F4"
    started, day, client, messages, rate, engaged = (c.value for c in sheet[3])
    assert started == dt.datetime(2026, 11, 27, 10, 5, 7)  # to the second, as CSV and JSON write it
    assert sheet["A3"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert isinstance(day, dt.datetime) and sheet["B3"].number_format == "yyyy-mm-dd"  # Excel dates are datetimes
    assert (client, messages, rate, engaged) == ("acmé 🔑", 12345, 0.335, True)
    assert sheet["D3"].number_format == "#,##0" and sheet["E3"].number_format == "0.0%"
    assert sheet["F3"].number_format == "General"  # a boolean stays TRUE/FALSE
    assert sheet.column_dimensions["A"].width == 20


def test_xlsx_of_an_empty_result_still_has_its_header(tmp_path):
    path = tmp_path / "empty.xlsx"
    assert write_xlsx(COLUMNS, [], str(path), sheet_title="empty") == 0
    sheet = openpyxl.load_workbook(path).active
    assert [c.value for c in sheet[1]] == LABELS and sheet.freeze_panes == "A2"


def test_widths_fit_the_header_and_sample_within_bounds():
    assert column_widths(["a", "long_column_name"], [("x" * 100, 1)]) == [60, 18]


def test_the_title_names_the_report_its_parameters_and_the_period():
    template = Template("t", "Top answers", "d", {"client_id": Parameter("client_id", "Client")}, {})
    interval = Interval(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert report_title(template, {"client_id": "acme"}, interval) == \
        "Top answers · Client: acme · 2026-11-01 to 2026-11-30"
    assert sheet_name("x" * 40) == "x" * 31 and sheet_name("[]") == "Report"


def test_xlsx_keeps_text_as_text_formulas_and_control_characters_included(tmp_path):
    path = tmp_path / "text.xlsx"
    rows = [(dt.datetime(2026, 11, 27), dt.date(2026, 11, 27), "=HYPERLINK(\"http://x\")", 1, None, True),
            (dt.datetime(2026, 11, 27), dt.date(2026, 11, 27), "bell\x07 and tab\t", 2, None, False)]
    assert write_xlsx(COLUMNS, [rows], str(path), sheet_title="t") == 2
    sheet = openpyxl.load_workbook(path).active
    assert sheet["C2"].value == '=HYPERLINK("http://x")' and sheet["C2"].data_type == "s"
    assert sheet["C3"].value == "bell\ufffd and tab\t"


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised_and_numbers_stay_numbers():
    out = io.BytesIO()
    hostile = ["=HYPERLINK(\"http://evil.test\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx",
               "\rx", "a=b", ""]
    write_csv(["cell", "number", "decimal"], [[(text, -5, Decimal("-1.5")) for text in hostile]], out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))[1:]
    assert [row[0] for row in rows] == ["'=HYPERLINK(\"http://evil.test\",\"x\")", "'+1+cmd|' /C calc'!A0", "'-2+3",
                                        "'@SUM(A1:A9)", "'\tx", "'\rx", "a=b", ""]
    assert {(row[1], row[2]) for row in rows} == {("-5", "-1.5")}


def test_the_last_microsecond_of_a_day_stays_in_that_day_in_every_format(tmp_path):
    last = dt.datetime(2026, 11, 29, 23, 59, 59, 999999)
    path, out = tmp_path / "x.xlsx", io.BytesIO()
    write_xlsx(COLUMNS[:1], [[(last,)]], str(path), sheet_title="t", title="t")
    write_csv(LABELS[:1], [[(last,)]], out)
    cell = openpyxl.load_workbook(path).active["A3"].value
    assert cell == dt.datetime(2026, 11, 29, 23, 59, 59)
    assert out.getvalue().decode().splitlines()[1] == cell.isoformat() == json.loads(
        b"".join(json_chunks(["at"], [[(last,)]])))[0]["at"]
