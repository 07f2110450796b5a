"""Mapping rules from MongoDB values to part-file text, one test per rule."""

import datetime as dt
import json

import pytest
from bson import Decimal128, Int64, ObjectId

from pipeline.catalog import catalog
from pipeline.convert import (
    MAX_VALUE_BYTES,
    NULL,
    ConversionStats,
    Rejected,
    RowConverter,
    quarantine_line,
    to_bool,
    to_float,
    to_int,
    to_json,
    to_numeric,
    to_objectid,
    to_text,
    to_timestamp,
)

WINDOW = dt.datetime(2026, 11, 20)
OID = ObjectId("6b0b414cd393b99356368bc3")


def conversation(**fields):
    doc = {"_id": OID, "client_id": "acme", "language": "fr", "created_at": WINDOW, "updated_at": WINDOW}
    doc.update(fields)
    return doc


def test_objectid_becomes_24_char_hex():
    assert to_objectid(OID) == "6b0b414cd393b99356368bc3"
    assert to_objectid("6B0B414CD393B99356368BC3") == "6b0b414cd393b99356368bc3"
    with pytest.raises(Rejected):
        to_objectid("not-an-id")


def test_datetime_becomes_utc_timestamp():
    assert to_timestamp(dt.datetime(2026, 11, 20, 10, 15, 0, 123000)) == "2026-11-20 10:15:00.123000"
    paris = dt.timezone(dt.timedelta(hours=1))
    assert to_timestamp(dt.datetime(2026, 11, 20, 11, 15, tzinfo=paris)) == "2026-11-20 10:15:00"
    assert to_timestamp("2026-11-20T10:15:00Z") == "2026-11-20 10:15:00"
    with pytest.raises(Rejected):
        to_timestamp("yesterday")


def test_decimal128_becomes_numeric_without_rounding():
    assert to_numeric(Decimal128("0.8731")) == "0.8731"
    assert to_numeric(Decimal128("12")) == "12"
    assert to_numeric(Decimal128("0")) == "0"
    with pytest.raises(Rejected, match="decimal places"):
        to_numeric(Decimal128("0.12345678"))
    with pytest.raises(Rejected, match="digits"):
        to_numeric(Decimal128("12345678901234567890"))
    with pytest.raises(Rejected):
        to_numeric(Decimal128("NaN"))


def test_int64_double_and_bool_as_such():
    assert to_int(Int64(2**40)) == str(2**40)
    assert to_int(3.0) == "3"
    assert to_int(Decimal128("7")) == "7"
    with pytest.raises(Rejected):
        to_int(3.5)
    with pytest.raises(Rejected):
        to_int(True)
    with pytest.raises(Rejected, match="64 bits"):
        to_int(2**70)
    assert to_float(1.5) == "1.5"
    assert to_float(2) == "2.0"
    with pytest.raises(Rejected):
        to_float(float("nan"))
    assert (to_bool(True), to_bool(False), to_bool(1)) == ("t", "f", "t")
    with pytest.raises(Rejected):
        to_bool("yes")


def test_text_coerces_losslessly_and_rejects_objects():
    assert to_text("Réinitialiser 🔑") == "Réinitialiser 🔑"
    assert to_text(42) == "42"
    with pytest.raises(Rejected, match="expected text"):
        to_text({"a": 1})
    with pytest.raises(Rejected, match="NULL marker"):
        to_text(NULL)


def test_oversized_text_is_rejected_not_truncated():
    assert to_text("é" * (MAX_VALUE_BYTES // 2)) == "é" * (MAX_VALUE_BYTES // 2)  # 65534 bytes fits
    with pytest.raises(Rejected, match="over the 65535-byte limit"):
        to_text("é" * (MAX_VALUE_BYTES // 2 + 1))


def test_nested_objects_and_arrays_become_json_text():
    value = {"cart": {"items": [1, 2, {"sku": "x"}]}, "at": dt.datetime(2026, 1, 2, 3, 4, 5), "id": OID,
             "price": Decimal128("19.90"), "name": "日本語"}
    assert json.loads(to_json(value)) == {
        "cart": {"items": [1, 2, {"sku": "x"}]}, "at": "2026-01-02T03:04:05.000Z",
        "id": "6b0b414cd393b99356368bc3", "price": "19.90", "name": "日本語",
    }
    assert "日本語" in to_json(value)  # unicode kept as is, not \u-escaped


def test_row_follows_catalog_order_missing_fields_are_null_and_extra_fields_kept():
    converter = RowConverter(catalog().source("conversations"), "eu", WINDOW)
    row = converter.row(conversation(meta={"country": "FR"}, experiment="onboarding_v2", campaign={"id": 3}))
    columns = catalog().source("conversations").file_column_names
    values = dict(zip(columns, row))
    assert len(row) == len(columns)
    assert values["region"] == "eu"
    assert values["_id"] == str(OID)
    assert values["device"] == NULL  # missing field
    assert json.loads(values["meta"]) == {"country": "FR"}
    assert json.loads(values["_extra"]) == {"experiment": "onboarding_v2", "campaign": {"id": 3}}
    assert values["_window_start"] == "2026-11-20 00:00:00"


def test_row_without_extra_fields_has_null_extra():
    row = RowConverter(catalog().source("conversations"), "eu", WINDOW).row(conversation())
    assert row[catalog().source("conversations").file_column_names.index("_extra")] == NULL


def test_wrong_types_are_quarantined_with_the_field_named():
    converter = RowConverter(catalog().source("conversations"), "eu", WINDOW)
    stats = ConversionStats()
    docs = [conversation(), conversation(_id=ObjectId(), language=["fr"]), conversation(_id=None)]
    rows = list(converter.rows(docs, stats))
    assert len(rows) == 1
    assert (stats.extracted, stats.written, len(stats.quarantined)) == (3, 1, 2)
    assert "field 'language'" in stats.quarantined[0].reason
    assert "is missing" in stats.quarantined[1].reason
    line = json.loads(quarantine_line(stats.quarantined[0]))
    assert line["document"]["language"] == ["fr"] and line["reason"] == stats.quarantined[0].reason
