"""Turn MongoDB documents into part-file rows by their source declaration: drifted values keep their document
(coerced or NULL, the original in `_drift`); only what cannot be stored at all is quarantined."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from bson import Binary, Code, Decimal128, Int64, ObjectId, Regex, Timestamp
from bson.json_util import CANONICAL_JSON_OPTIONS
from bson.json_util import dumps as bson_dumps
from bson.json_util import loads as bson_loads

from pipeline.catalog import DRIFT_COLUMN, EXTRA_COLUMN, Column, Source

# Both warehouses read part files as CSV with this NULL marker, so that NULL and '' stay distinct.
NULL = "\\N"
# Redshift's varchar limit is in bytes; PostgreSQL would take more but the same rows go to both.
MAX_VALUE_BYTES = 65535
NUMERIC_PRECISION, NUMERIC_SCALE = 18, 6
_NUMERIC_QUANTUM = Decimal(1).scaleb(-NUMERIC_SCALE)
_INT64 = (-(2**63), 2**63 - 1)


class Rejected(ValueError):
    """A value does not fit its column. Outside the key and the cursor that is drift: the row lands with the
    column NULL and the original kept in `_drift`. `kind` is a short, stable label for the drift report."""

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


class Unstorable(Rejected):
    """A value the warehouses cannot hold at all (over their size limit): its document is quarantined."""


@dataclass
class Quarantined:
    document_id: str
    reason: str
    document: dict


@dataclass
class Drift:
    """Values of one field and observed type in one window that did not match the declared type."""

    documents: int = 0
    nulled: int = 0  # of those, the typed column is NULL (no lossless coercion); the rest were coerced
    examples: list[str] = field(default_factory=list)


@dataclass
class ConversionStats:
    extracted: int = 0
    written: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    drift: dict[tuple[str, str], Drift] = field(default_factory=dict)  # (field, observed type) -> counts

    def record_drift(self, name: str, observed: str, document_id: str, nulled: bool) -> None:
        drift = self.drift.setdefault((name, observed), Drift())
        drift.documents += 1
        drift.nulled += nulled
        if len(drift.examples) < DRIFT_EXAMPLES:
            drift.examples.append(document_id)

    def drift_report(self) -> list[dict]:
        """The manifest's `drift`: one entry per (field, observed type)."""
        return [{"field": name, "type": observed, "documents": d.documents, "nulled": d.nulled,
                 "examples": d.examples} for (name, observed), d in sorted(self.drift.items())]


DRIFT_EXAMPLES = 3
INEXACT_JSON = "inexact as JSON"

# NUL (U+0000): PostgreSQL stores it neither in text nor in JSON (`\u0000 cannot be converted to text`), and
# the models read JSON columns. A text or JSON value holding one is drift: the column is NULL, the original
# is kept (escaped) in `_drift`. In JSON text NUL is the escape \u0000 behind an even number of backslashes.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# Lone surrogates: how a string with invalid UTF-8 bytes reads (the source client decodes with
# `surrogateescape`, so such a document is read at all). No UTF-8 file or column can hold them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(text: str, what: str, escaped: bool = False) -> str:
    if ("\\u0000" in text and _JSON_NUL.search(text)) if escaped else "\x00" in text:
        raise Rejected(f"{what} contains a NUL character (U+0000), which the warehouses cannot store",
                       "NUL character")
    if not text.isascii() and _SURROGATE.search(text):
        raise Rejected(f"{what} holds invalid UTF-8", "invalid UTF-8")
    return text


def _check_size(text: str, what: str, limit: int = MAX_VALUE_BYTES) -> str:
    if len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit:
        size = len(text.encode("utf-8", "surrogatepass"))
        if limit >= MAX_VALUE_BYTES:
            raise Unstorable(f"{what} is {size} bytes, over the {limit}-byte limit")
        raise Rejected(f"{what} is {size} bytes, over its declared max_length of {limit}", f"over {limit} bytes")
    return text


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {str(value)[:40]!r}"


# An objectid cell holds an ObjectId as its 24 lower-case hex digits and a string of 24 hex digits as this
# prefix and the string as it is: MongoDB keeps ObjectId("5f..."), "5f..." and "5F..." apart, so do the keys.
STRING_ID = "str:"


def to_objectid(value: Any) -> str:
    if type(value) is ObjectId:
        return str(value)
    if isinstance(value, str) and len(value) == 24 and ObjectId.is_valid(value):
        return STRING_ID + value
    raise Rejected(f"expected an ObjectId, got {_describe(value)}")


def objectid_value(cell: str) -> ObjectId | str:
    """The MongoDB value an objectid cell stands for (to_objectid's inverse)."""
    return cell[len(STRING_ID):] if cell.startswith(STRING_ID) else ObjectId(cell)


def key_cell(kind: str, value: Any) -> str:
    """A key's warehouse text as the load stores it (the declared key type's conversion), or, for a value the
    key cannot hold (a quarantined document's), its plain text: what quarantine records and verify compare."""
    try:
        return CONVERTERS[kind](value)
    except Rejected:
        return str(value)


# Shorter strings cannot exceed the byte limit (4 bytes per character at most): no need to measure them.
_SHORT_TEXT = MAX_VALUE_BYTES // 4


def to_text(value: Any) -> str:
    """A string; a number, id, date or boolean as its text; an object or array as its JSON text."""
    if type(value) is str:
        # The common case in one expression (the hot path: most columns of most documents are text).
        if len(value) <= _SHORT_TEXT and "\x00" not in value and value != NULL and (
                value.isascii() or not _SURROGATE.search(value)):
            return value
        text = value
    elif isinstance(value, (dict, list)):
        return to_json(value)
    elif isinstance(value, (int, ObjectId, Decimal128)) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float):
        text = to_float(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = _json_default(value)
    else:
        raise Rejected(f"expected text, got {_describe(value)}")
    if text == NULL:
        raise Rejected(f"text equals the part files' NULL marker {NULL!r}", "equals the NULL marker")
    return _check_size(_check_text(text, "text"), "text")


def to_timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, str):
        try:
            return to_timestamp(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise Rejected(f"expected a datetime, got {_describe(value)}")


def to_bool(value: Any) -> str:
    if value is True or value is False:
        return "t" if value else "f"
    if type(value) is int and value in (0, 1):
        return "t" if value else "f"
    raise Rejected(f"expected a boolean, got {_describe(value)}")


def to_int(value: Any) -> str:
    if isinstance(value, bool):
        raise Rejected(f"expected an integer, got {_describe(value)}")
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, (Decimal128, str)):
        try:
            decimal = value.to_decimal() if isinstance(value, Decimal128) else Decimal(value)
            if decimal != decimal.to_integral_value():
                raise InvalidOperation
            number = int(decimal)
        except (InvalidOperation, ValueError, OverflowError):
            raise Rejected(f"expected an integer, got {_describe(value)}") from None
    else:
        raise Rejected(f"expected an integer, got {_describe(value)}")
    if not _INT64[0] <= number <= _INT64[1]:
        raise Rejected(f"integer {number} does not fit in 64 bits", "over 64 bits")
    return str(number)


def to_float(value: Any) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Rejected(f"non-finite number {value!r}", "not finite")
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return repr(float(value))
    if isinstance(value, (str, Decimal128)):  # where a double holds it exactly
        try:
            decimal = value.to_decimal() if isinstance(value, Decimal128) else Decimal(value.strip())
            number = float(decimal)
            if decimal.is_finite() and Decimal(repr(number)) == decimal:
                return repr(number)
        except (InvalidOperation, ValueError):
            pass
    raise Rejected(f"expected a number, got {_describe(value)}")


@lru_cache(maxsize=1 << 16)
def _decimal128_numeric(bid: bytes) -> str:
    # Decimal128 values repeat (scores, prices): converting each distinct one once is ~10x cheaper.
    return _numeric(Decimal128.from_bid(bid).to_decimal())


def to_numeric(value: Any) -> str:
    """Decimal128 (or an exact int/float/str) that fits numeric(18,6) without rounding."""
    if isinstance(value, Decimal128):
        return _decimal128_numeric(value.bid)
    try:
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            decimal = Decimal(value)
        elif isinstance(value, float):
            decimal = Decimal(repr(value))
        else:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise Rejected(f"expected a decimal number, got {_describe(value)}") from None
    return _numeric(decimal)


def _numeric(decimal: Decimal) -> str:
    try:
        if not decimal.is_finite():
            raise InvalidOperation
        quantized = decimal.quantize(_NUMERIC_QUANTUM)
    except InvalidOperation:
        raise Rejected(f"decimal {decimal} does not fit numeric({NUMERIC_PRECISION},{NUMERIC_SCALE})",
                       "over numeric(18,6)") from None
    if quantized != decimal:
        raise Rejected(f"decimal {decimal} has more than {NUMERIC_SCALE} decimal places", "over numeric(18,6)")
    if len(quantized.as_tuple().digits) > NUMERIC_PRECISION:
        raise Rejected(f"decimal {decimal} has more than {NUMERIC_PRECISION} digits", "over numeric(18,6)")
    return str(quantized.normalize()) if quantized else "0"


def _json_default(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    if isinstance(value, (Binary, bytes)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (Regex, Timestamp, Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not representable as JSON")


# One encoder for every value: json.dumps with options builds a new one per call.
class _InexactJson:
    """Notes whether the last JSON encoding gave a value up inexactly: a binary's subtype, a regex's flags, a
    timestamp's increment (their JSON text keeps less). The row's `_drift` then keeps the original."""

    seen = False

    def default(self, value: Any) -> Any:
        if isinstance(value, (Regex, Timestamp)) or (isinstance(value, Binary) and value.subtype):
            self.seen = True
        return _json_default(value)


_INEXACT = _InexactJson()
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_INEXACT.default,
                                 allow_nan=False)


def holds_code(value: Any) -> bool:
    """Whether a value holds JavaScript code (bson Code, with or without scope): JSON writes it as a plain string
    (Code is a str), so its type and scope would go without drift. Walked only where it is cheap: _extra."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is Code:
            return True
    return False


def to_json(value: Any) -> str:
    _INEXACT.seen = False
    try:
        text = _JSON_ENCODER.encode(value)
    except (TypeError, ValueError) as error:
        raise Rejected(f"not representable as JSON: {error}", "not representable as JSON") from None
    return _check_size(_check_text(text, "JSON value", escaped=True), "JSON value")


CONVERTERS: dict[str, Callable[[Any], str]] = {
    "objectid": to_objectid,
    "text": to_text,
    "json": to_json,
    "timestamp": to_timestamp,
    "bool": to_bool,
    "int": to_int,
    "float": to_float,
    "numeric": to_numeric,
}


def column_converter(column: Column) -> Callable[[Any], str]:
    """The column's converter, with its declared max_length (bytes) enforced where it has one."""
    convert = CONVERTERS[column.type]
    if column.max_length is None:
        return convert
    return lambda value: _check_size(convert(value), f"{column.type} value", column.max_length)


# The BSON types each declared type expects (exact Python types: a lookup per value on the hot path). Any
# other type in a field is drift, even where it converts; a JSON column takes every type.
EXPECTED: dict[str, frozenset[type] | None] = {
    "objectid": frozenset({ObjectId}),
    "text": frozenset({str}),
    "json": None,
    "timestamp": frozenset({dt.datetime}),
    "bool": frozenset({bool}),
    "int": frozenset({int, Int64}),
    "float": frozenset({float, int, Int64}),
    "numeric": frozenset({Decimal128, int, Int64, float}),
}
_BSON_NAMES = {str: "string", bool: "bool", int: "int", Int64: "long", float: "double", Decimal128: "decimal",
               dict: "object", list: "array", ObjectId: "objectId", dt.datetime: "date", Binary: "binData",
               bytes: "binData", Regex: "regex", Timestamp: "timestamp", Code: "javascript"}


def observed_type(value: Any) -> str:
    """The value's BSON type name, as MongoDB's `$type` spells it."""
    return _BSON_NAMES.get(type(value), type(value).__name__)


def drift_json(originals: dict[str, Any]) -> str:
    """The `_drift` cell: each drifted field's original value as canonical extended JSON, which keeps every
    BSON type (int vs long vs double, dates, ids). ASCII only where the value holds invalid UTF-8."""
    try:
        text = bson_dumps(originals, json_options=CANONICAL_JSON_OPTIONS, ensure_ascii=False)
        if not text.isascii() and _SURROGATE.search(text):
            text = bson_dumps(originals, json_options=CANONICAL_JSON_OPTIONS)
    except (TypeError, ValueError) as error:
        raise Unstorable(f"cannot be written as extended JSON: {error}") from None
    return _check_size(text, "the originals of its drifted fields")


class RowConverter:
    """Converts one source's documents to rows in `Source.file_columns` order.

    The key and the cursor must convert, or the document is quarantined. Any other field whose value does
    not fit its declared type (drift) never costs the document: the column gets the value's lossless
    coercion (an object into text becomes JSON text, a numeric string a number) or NULL, and `_drift` keeps
    the original exactly. Only a value over the warehouses' size limit quarantines a document."""

    def __init__(self, source: Source, region: str, window_start: dt.datetime):
        self.source = source
        self._prefix = [region]
        self._suffix_window = to_timestamp(window_start)
        required = {source.key, source.cursor}
        self._fields = [(c.name, EXPECTED[c.type], column_converter(c), c.name in required) for c in source.columns]
        self._known = frozenset(source.field_names)
        self._key_kind = source.key_column.type
        self._key_index = 1 + source.field_names.index(source.key)  # after the region

    def row(self, document: dict) -> list[str]:
        return self.convert(document)[0]

    def convert(self, document: dict) -> tuple[list[str], list[tuple[str, str, bool]]]:
        """The row and its drift [(field, observed type, nulled)]; Rejected naming the field when the document
        cannot be stored."""
        row = list(self._prefix)
        drifted: dict[str, Any] = {}
        drift: list[tuple[str, str, bool]] = []
        for name, expected, convert, required in self._fields:
            value = document.get(name)
            if value is None:
                if required:
                    raise Rejected(f"field {name!r} is missing, and it is the key or the cursor")
                row.append(NULL)
                continue
            try:
                cell = convert(value)
            except Unstorable as error:
                raise Unstorable(f"field {name!r}: {error}") from None
            except Rejected as error:
                if required:
                    raise Rejected(f"field {name!r}: {error}") from None
                drifted[name] = value
                drift.append((name, _label(value, error.kind), True))
                row.append(NULL)
                continue
            if expected is not None and type(value) not in expected:
                drifted[name] = value
                drift.append((name, _label(value, ""), False))
            elif expected is None and (_INEXACT.seen or type(value) is Code):  # a JSON column kept less
                drifted[name] = value
                drift.append((name, _label(value, INEXACT_JSON), False))
            row.append(cell)
        extra = None if document.keys() <= self._known else {
            k: v for k, v in document.items() if k not in self._known}
        if extra:
            try:
                row.append(to_json(extra))
                if _INEXACT.seen or holds_code(extra):
                    drifted[EXTRA_COLUMN] = extra
                    drift.append((EXTRA_COLUMN, _label(extra, INEXACT_JSON), False))
            except Unstorable as error:
                raise Unstorable(f"field {EXTRA_COLUMN}: {error}") from None
            except Rejected as error:
                drifted[EXTRA_COLUMN] = extra
                drift.append((EXTRA_COLUMN, _label(extra, error.kind), True))
                row.append(NULL)
        else:
            row.append(NULL)
        try:
            row.append(drift_json(drifted) if drifted else NULL)
        except Unstorable as error:
            raise Unstorable(f"field {DRIFT_COLUMN}: {error}") from None
        row.append(self._suffix_window)
        return row, drift

    def rows(self, documents: Iterable[dict], stats: ConversionStats) -> Iterator[list[str]]:
        """Rows of the storable documents; the others are recorded in stats.quarantined, drift in stats.drift."""
        for document in documents:
            stats.extracted += 1
            try:
                row, drift = self.convert(document)
            except Rejected as error:
                stats.quarantined.append(Quarantined(key_cell(self._key_kind, document.get(self.source.key)),
                                                     str(error), document))
                continue
            for name, observed, nulled in drift:
                stats.record_drift(name, observed, row[self._key_index], nulled)
            stats.written += 1
            yield row


def _label(value: Any, kind: str) -> str:
    """The drift report's type: the BSON type, and why a value of the expected type still did not fit."""
    return f"{observed_type(value)} ({kind})" if kind else observed_type(value)


def quarantine_line(item: Quarantined) -> str:
    """One JSON line for the quarantine file: id, reason and the whole document as canonical extended JSON
    (replay converts it again, so types must survive)."""
    return json.dumps(
        {"_id": item.document_id, "reason": item.reason,
         "document": json.loads(bson_dumps(item.document, json_options=CANONICAL_JSON_OPTIONS))},
        ensure_ascii=True,
    )


def read_quarantine_line(line: str) -> tuple[str, str, dict]:
    """(_id, reason, document) from a quarantine file line, the document with its BSON types."""
    record = json.loads(line)
    return record["_id"], record["reason"], bson_loads(json.dumps(record["document"]),
                                                        json_options=CANONICAL_JSON_OPTIONS)
