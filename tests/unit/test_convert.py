"""Mapping rules from MongoDB values to part-file text, one test per rule."""

import datetime as dt
import json

import pytest
from bson import Decimal128, Int64, ObjectId, json_util
from bson.json_util import CANONICAL_JSON_OPTIONS

from pipeline.catalog import catalog
from pipeline.convert import (
    MAX_VALUE_BYTES,
    NULL,
    ConversionStats,
    Rejected,
    RowConverter,
    Unstorable,
    objectid_value,
    quarantine_line,
    read_quarantine_line,
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


def test_an_objectid_and_a_string_of_its_hex_stay_different_keys():
    assert to_objectid(OID) == "6b0b414cd393b99356368bc3"
    assert to_objectid("6b0b414cd393b99356368bc3") == "str:6b0b414cd393b99356368bc3"
    assert to_objectid("6B0B414CD393B99356368BC3") == "str:6B0B414CD393B99356368BC3"
    for value in (OID, "6b0b414cd393b99356368bc3", "6B0B414CD393B99356368BC3"):
        assert objectid_value(to_objectid(value)) == value and type(objectid_value(to_objectid(value))) is type(value)
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


def test_text_coerces_losslessly_objects_included():
    assert to_text("Réinitialiser 🔑") == "Réinitialiser 🔑"
    assert (to_text(42), to_text(2.5), to_text(True)) == ("42", "2.5", "true")
    assert json.loads(to_text({"blocks": [{"type": "p", "text": "Hi"}]})) == {"blocks": [{"type": "p", "text": "Hi"}]}
    with pytest.raises(Rejected, match="NULL marker"):
        to_text(NULL)
    with pytest.raises(Rejected, match="NUL character"):
        to_text("a\x00b")
    with pytest.raises(Rejected, match="invalid UTF-8"):
        to_text("caf\udce9")  # how a string with the byte 0xE9 alone reads with surrogateescape


def test_numeric_strings_become_numbers_only_where_exact():
    assert (to_int("42"), to_float("0.5"), to_numeric("19.90")) == ("42", "0.5", "19.9")
    for convert, text in ((to_int, "4.5"), (to_int, "forty"), (to_float, "0.1000000000000000000001")):
        with pytest.raises(Rejected):
            convert(text)


def test_oversized_text_is_rejected_not_truncated():
    assert to_text("é" * (MAX_VALUE_BYTES // 2)) == "é" * (MAX_VALUE_BYTES // 2)  # 65534 bytes fits
    with pytest.raises(Unstorable, match="over the 65535-byte limit"):
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


def drift_of(row: list[str], source: str = "conversations") -> dict:
    cell = row[catalog().source(source).file_column_names.index("_drift")]
    return {} if cell == NULL else json_util.loads(cell, json_options=CANONICAL_JSON_OPTIONS)


def test_drift_keeps_the_row_coerces_where_lossless_and_keeps_the_original():
    converter = RowConverter(catalog().source("conversations"), "eu", WINDOW)
    stats = ConversionStats()
    docs = [conversation(),
            conversation(_id=ObjectId(), language=["fr", "en"]),  # array into text: its JSON text
            conversation(_id=ObjectId(), device="mobile\x00", created_at="not a date")]  # NULL, originals kept
    rows = list(converter.rows(docs, stats))
    columns = catalog().source("conversations").file_column_names
    assert (stats.extracted, stats.written, stats.quarantined) == (3, 3, [])
    assert drift_of(rows[0]) == {}
    assert json.loads(dict(zip(columns, rows[1]))["language"]) == ["fr", "en"]
    assert drift_of(rows[1]) == {"language": ["fr", "en"]}
    third = dict(zip(columns, rows[2]))
    assert (third["device"], third["created_at"]) == (NULL, NULL)
    assert drift_of(rows[2]) == {"device": "mobile\x00", "created_at": "not a date"}
    assert stats.drift_report() == [
        {"field": "created_at", "type": "string", "documents": 1, "nulled": 1, "examples": [str(docs[2]["_id"])]},
        {"field": "device", "type": "string (NUL character)", "documents": 1, "nulled": 1,
         "examples": [str(docs[2]["_id"])]},
        {"field": "language", "type": "array", "documents": 1, "nulled": 0, "examples": [str(docs[1]["_id"])]},
    ]


def test_drift_originals_keep_their_bson_types_exactly():
    converter = RowConverter(catalog().source("answers"), "eu", WINDOW)
    original = {"blocks": [{"n": Int64(3), "x": 1.0, "at": WINDOW, "id": OID, "k.e$y": "v"}]}
    row = converter.row({"_id": OID, "updated_at": WINDOW, "content": original, "version": "7", "active": [1]})
    kept = drift_of(row, "answers")
    assert kept == {"content": original, "version": "7", "active": [1]}
    assert type(kept["content"]["blocks"][0]["n"]) is Int64 and type(kept["content"]["blocks"][0]["x"]) is float
    values = dict(zip(catalog().source("answers").file_column_names, row))
    assert (values["version"], values["active"]) == ("7", NULL)


def test_what_json_keeps_inexactly_is_drift_with_the_original_kept():
    from bson import Binary, Code, Regex

    converter = RowConverter(catalog().source("conversations"), "eu", WINDOW)
    stats = ConversionStats()
    uuid = Binary(bytes(range(16)), 4)
    docs = [conversation(meta={"device_id": uuid}),
            conversation(_id=ObjectId(), meta={"pattern": Regex("^a", "i")}),
            conversation(_id=ObjectId(), hook=Code("return x", {"x": 1})),  # undeclared: into _extra
            conversation(_id=ObjectId(), meta={"plain": b"bytes"})]  # subtype 0: base64 says it all
    rows = list(converter.rows(docs, stats))
    assert drift_of(rows[0]) == {"meta": {"device_id": uuid}}
    assert drift_of(rows[0])["meta"]["device_id"].subtype == 4
    assert drift_of(rows[1]) == {"meta": {"pattern": Regex("^a", "i")}}
    kept = drift_of(rows[2])["_extra"]["hook"]
    assert (str(kept), kept.scope) == ("return x", {"x": 1})
    assert drift_of(rows[3]) == {}
    assert [(d["field"], d["type"], d["documents"], d["nulled"]) for d in stats.drift_report()] == [
        ("_extra", "object (inexact as JSON)", 1, 0), ("meta", "object (inexact as JSON)", 2, 0)]


def test_key_and_cursor_problems_and_oversized_values_still_quarantine():
    converter = RowConverter(catalog().source("conversations"), "eu", WINDOW)
    stats = ConversionStats()
    docs = [conversation(_id=None), conversation(_id=ObjectId(), updated_at="soon"),
            conversation(_id=ObjectId(), language="x" * (MAX_VALUE_BYTES + 1)),
            conversation(_id=ObjectId(), device=1.5, language="x" * (MAX_VALUE_BYTES + 1))]
    assert list(converter.rows(docs, stats)) == []
    reasons = [item.reason for item in stats.quarantined]
    assert "is missing" in reasons[0] and "field 'updated_at'" in reasons[1]
    assert "over the 65535-byte limit" in reasons[2] and "field 'language'" in reasons[2]
    assert stats.drift == {}  # the drift of a document that did not land is not counted


def test_quarantine_lines_give_the_document_back_with_its_types():
    converter = RowConverter(catalog().source("conversations"), "eu", WINDOW)
    stats = ConversionStats()
    list(converter.rows([conversation(_id=None, n=Int64(5), price=Decimal128("1.10"))], stats))
    document_id, reason, document = read_quarantine_line(quarantine_line(stats.quarantined[0]))
    assert (document_id, reason) == ("None", stats.quarantined[0].reason)
    assert document == conversation(_id=None, n=Int64(5), price=Decimal128("1.10"))
    assert type(document["n"]) is Int64
