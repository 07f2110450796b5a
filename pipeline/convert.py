"""Turn MongoDB documents into part-file rows by their source declaration; reject what cannot be stored losslessly."""

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

from bson import Binary, Decimal128, ObjectId, Regex, Timestamp
from bson.json_util import dumps as bson_dumps

from pipeline.catalog import Column, Source

# Both warehouses read part files as CSV with this NULL marker, so that NULL and '' stay distinct.
NULL = "\\N"
# Redshift's varchar limit is in bytes; PostgreSQL would take more but the same rows go to both.
MAX_VALUE_BYTES = 65535
NUMERIC_PRECISION, NUMERIC_SCALE = 18, 6
_NUMERIC_QUANTUM = Decimal(1).scaleb(-NUMERIC_SCALE)
_INT64 = (-(2**63), 2**63 - 1)


class Rejected(ValueError):
    """A document cannot be stored without loss; the message says which field and why."""


@dataclass
class Quarantined:
    document_id: str
    reason: str
    document: dict


@dataclass
class ConversionStats:
    extracted: int = 0
    written: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


# NUL (U+0000): PostgreSQL stores it neither in text nor in JSON (`\u0000 cannot be converted to text`), and
# one such value would block its whole window. The rule, for every text and JSON value: quarantine the
# document, naming the field. In JSON text NUL is the escape \u0000 behind an even number of backslashes.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _check_nul(text: str, what: str, escaped: bool = False) -> str:
    if ("\\u0000" in text and _JSON_NUL.search(text)) if escaped else "\x00" in text:
        raise Rejected(f"{what} contains a NUL character (U+0000), which the warehouses cannot store")
    return text


def _check_size(text: str, what: str, limit: int = MAX_VALUE_BYTES) -> str:
    if len(text) > limit // 4 and len(text.encode("utf-8")) > limit:
        raise Rejected(f"{what} is {len(text.encode('utf-8'))} bytes, over the {limit}-byte limit")
    return text


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {str(value)[:40]!r}"


def to_objectid(value: Any) -> str:
    if type(value) is ObjectId:
        return str(value)
    if isinstance(value, str) and ObjectId.is_valid(value) and len(value) == 24:
        return value.lower()
    raise Rejected(f"expected an ObjectId, got {_describe(value)}")


def to_text(value: Any) -> str:
    if type(value) is str:
        text = value
    elif isinstance(value, (int, ObjectId)) and not isinstance(value, bool):
        text = str(value)
    else:
        raise Rejected(f"expected text, got {_describe(value)}")
    if text == NULL:
        raise Rejected(f"text equals the part files' NULL marker {NULL!r}")
    return _check_size(_check_nul(text, "text"), "text")


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
        raise Rejected(f"integer {number} does not fit in 64 bits")
    return str(number)


def to_float(value: Any) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Rejected(f"non-finite number {value!r}")
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return repr(float(value))
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
        raise Rejected(f"decimal {decimal} does not fit numeric({NUMERIC_PRECISION},{NUMERIC_SCALE})") from None
    if quantized != decimal:
        raise Rejected(f"decimal {decimal} has more than {NUMERIC_SCALE} decimal places")
    if len(quantized.as_tuple().digits) > NUMERIC_PRECISION:
        raise Rejected(f"decimal {decimal} has more than {NUMERIC_PRECISION} digits")
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


def to_json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default,
                          allow_nan=False)
    except (TypeError, ValueError) as error:
        raise Rejected(f"not representable as JSON: {error}") from None
    return _check_size(_check_nul(text, "JSON value", escaped=True), "JSON value")


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


class RowConverter:
    """Converts one source's documents to rows in `Source.file_columns` order."""

    def __init__(self, source: Source, region: str, window_start: dt.datetime):
        self.source = source
        self._prefix = [region]
        self._suffix_window = to_timestamp(window_start)
        required = {source.key, source.cursor}
        self._fields = [(c.name, column_converter(c), c.name in required) for c in source.columns]
        self._known = frozenset(source.field_names)

    def row(self, document: dict) -> list[str]:
        """Raise Rejected naming the field when a value cannot be stored losslessly."""
        row = list(self._prefix)
        for name, convert, required in self._fields:
            value = document.get(name)
            if value is None:
                if required:
                    raise Rejected(f"field {name!r} is missing, and it is the key or the cursor")
                row.append(NULL)
                continue
            try:
                row.append(convert(value))
            except Rejected as error:
                raise Rejected(f"field {name!r}: {error}") from None
        extra = {k: v for k, v in document.items() if k not in self._known}
        if extra:
            try:
                row.append(to_json(extra))
            except Rejected as error:
                raise Rejected(f"field {self.source.name}._extra: {error}") from None
        else:
            row.append(NULL)
        row.append(self._suffix_window)
        return row

    def rows(self, documents: Iterable[dict], stats: ConversionStats) -> Iterator[list[str]]:
        """Rows of the convertible documents; the others are recorded in stats.quarantined."""
        for document in documents:
            stats.extracted += 1
            try:
                row = self.row(document)
            except Rejected as error:
                stats.quarantined.append(Quarantined(str(document.get(self.source.key)), str(error), document))
                continue
            stats.written += 1
            yield row


def quarantine_line(item: Quarantined) -> str:
    """One JSON line for the quarantine file: id, reason and the whole document as extended JSON."""
    return json.dumps(
        {"_id": item.document_id, "reason": item.reason, "document": json.loads(bson_dumps(item.document))},
        ensure_ascii=False,
    )
