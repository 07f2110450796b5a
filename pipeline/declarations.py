"""How every declaration is read: sources, models and the pipeline's own tables (catalog.py), report templates
(exports/templates.py), export entries and console subscriptions (exports/definitions.py).

One library, pydantic: each declaration is a `Spec` class (unknown fields refused, types strict, a YAML `null`
counted as absent), its rules are validators that raise `Invalid`, and `problems` turns a `ValidationError`
into `Problem(field, problem, line)`: the field as a dotted path by names (`columns.text.max_length`), the
line where YAML gave it. The stage modules build their own frozen dataclasses from a validated spec."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import UnionType
from typing import Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from pipeline.sqlfiles import Located, is_identifier


class Invalid(ValueError):
    """A rule of a declaration is broken. `at` is the field below the validated one that it concerns (a model
    validator names the field it checked: `Invalid("missing", at="key")`)."""

    def __init__(self, problem: str, at: str | int | tuple = ()):
        super().__init__(problem)
        self.problem = problem
        self.at = at if isinstance(at, tuple) else tuple(str(at).split(".")) if isinstance(at, str) else (at,)


class Spec(BaseModel):
    """A declaration's fields as written: nothing unknown, nothing coerced (`"yes"` is not true), and a YAML null
    or an empty text counted as absent (the field's default, or missing)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)
    what: ClassVar[str] = "a mapping of fields"  # what a value of the wrong shape should have been

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            raise Invalid(f"expected {cls.what}, got {_kind(raw)}")
        return {key: value for key, value in raw.items() if value is not None and value != ""}


SpecT = TypeVar("SpecT", bound=Spec)


@dataclass(frozen=True)
class Problem:
    field: str  # a dotted path by names: `columns.text.type`, `params.client_id`; "" for the whole declaration
    problem: str
    line: int = 0  # where YAML gave it (1-based); 0 when it did not (a form, a dict)

    def message(self, where: str) -> str:
        """`<where>, field 'a.b': problem (line N)`, the form every declaration error takes."""
        located = f"{where}, field {self.field!r}: " if self.field else f"{where}: "
        return located + self.problem + (f" (line {self.line})" if self.line else "")


def validate(spec: type[SpecT], raw: Any, **context: Any) -> tuple[SpecT | None, list[Problem]]:
    """The spec of `raw` (a Spec class, or a plain type such as `dict[str, list[str]]`, strictly), or every
    problem found (see `problems` for their order), never both."""
    try:
        return _adapter(spec).validate_python(raw, strict=True, context=context), []
    except ValidationError as error:
        return None, problems(error, raw, spec)


@cache
def _adapter(spec: Any) -> TypeAdapter:
    return TypeAdapter(spec)


def problems(error: ValidationError, raw: Any, spec: Any) -> list[Problem]:
    """Each error as a Problem; one per field (the first), as a form shows one problem beside each field: unknown
    fields first, then in the order of the spec's fields."""
    found: dict[str, Problem] = {}
    details = error.errors(include_url=False)
    # An unknown field first: it is most often a misspelt one, which pydantic also reports missing.
    for detail in sorted(details, key=lambda detail: detail["type"] != "extra_forbidden"):
        cause = (detail.get("ctx") or {}).get("error")
        path = tuple(detail["loc"]) + (cause.at if isinstance(cause, Invalid) else ())
        field = ".".join(_named(raw, path))
        if field not in found:
            found[field] = Problem(field, _wording(detail, cause, spec, path), _line(raw, path))
    return list(found.values())


# What pydantic's error types say, in the words of the rest of the pipeline's messages.
_EXPECTED = {"string_type": "expected text", "bool_type": "expected true or false", "int_type": "expected a whole "
             "number", "list_type": "expected a list", "dict_type": "expected a mapping", "model_type": "expected a "
             "mapping of fields", "float_type": "expected a number"}


def _wording(detail: Mapping[str, Any], cause: Any, spec: Any, path: tuple) -> str:
    kind = detail["type"]
    if isinstance(cause, Invalid):
        return cause.problem
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        known = _spec_at(spec, path[:-1])
        return "unknown field" + (f"; known fields are {', '.join(sorted(known.model_fields))}" if known else "")
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {_kind(detail.get('input'))}"
    return str(cause) if cause is not None else detail["msg"]


def _kind(value: Any) -> str:
    return {str: "text", bool: "true or false", int: "a whole number", float: "a decimal number", list: "a list",
            dict: "a mapping",
            Located: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)


def _steps(raw: Any, path: tuple) -> Iterator[tuple[Any, Any]]:
    """(part of the path, the value at it) along the raw declaration, while the raw follows the path."""
    for part in path:
        if isinstance(raw, Mapping) and part in raw:
            raw = raw[part]
        elif isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
        else:
            return
        yield part, raw


def _named(raw: Any, path: tuple) -> list[str]:
    """The path with each list position replaced by the item's name when it has one (`columns.text`)."""
    named = [str(part) for part in path if part != "[key]"]  # pydantic's mark of a mapping's key
    for index, (part, value) in enumerate(_steps(raw, path)):
        if isinstance(part, int) and isinstance(value, Mapping) and isinstance(value.get("name"), str):
            named[index] = value["name"]
    return named


def _line(raw: Any, path: tuple) -> int:
    """The line of the deepest part of the path that YAML placed (a key's own line, or a list item's); 0 when
    even the first part is not there (a missing field has no line)."""
    line, parent = 0, raw
    for part, value in _steps(raw, path):
        if isinstance(parent, Located):
            line = parent.lines.get(part, line)
        elif isinstance(value, Located):
            line = value.line
        parent = value
    return line


def _spec_at(spec: Any, path: tuple) -> type[Spec] | None:
    """The Spec class that validates the mapping at `path` (to list the fields it knows), when there is one."""
    current: Any = spec
    keyed = False  # the next part is a key of a mapping of specs, not a field
    for part in path:
        if isinstance(part, int) or keyed:  # a list position or a mapping's key: the item's spec is in hand
            keyed = False
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, Spec) else None
        if field is None:
            return None
        current, keyed = _inner_spec(field.annotation), _is_mapping(field.annotation)
    return current if isinstance(current, type) and issubclass(current, Spec) else None


def _is_mapping(annotation: Any) -> bool:
    """Whether `dict[...]` is inside `X | None`, `Annotated[...]`: its keys come next in an error's path."""
    if get_origin(annotation) is dict:
        return True
    return (get_origin(annotation) in (Annotated, Union) or isinstance(annotation, UnionType)) and any(
        _is_mapping(argument) for argument in get_args(annotation))


def _inner_spec(annotation: Any) -> Any:
    """The Spec inside `X | None`, `list[X]`, `dict[str, X]`, `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, Spec):
        return annotation
    if get_origin(annotation) in (Annotated, Union, list, tuple, dict) or isinstance(annotation, UnionType):
        for argument in get_args(annotation):
            found = _inner_spec(argument)
            if found is not None:
                return found
    return None


def _scalar_text(value: Any) -> Any:
    """A number or a date YAML read where text was meant (`title: 2024`) is that text; true or false is not
    (`label: No` reads as false: quote it)."""
    if isinstance(value, (int, float, dt.date)) and not isinstance(value, bool):
        return str(value)
    return value


def _present(value: str) -> str:
    if not value.strip():
        raise Invalid("missing")
    return value


def _names(value: Any) -> tuple[str, ...]:
    """One lowercase name or a list of them, as a tuple."""
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list) or not all(isinstance(v, str) and is_identifier(v) for v in listed):
        raise Invalid(f"expected a lowercase name or a list of them, got {value!r}")
    return tuple(listed)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not is_identifier(value):
        raise Invalid("expected a lowercase name (letters, digits, underscores)")
    return value


def one_of(*choices: str) -> Any:
    """A text field that takes one of `choices`; the error lists them."""
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise Invalid(f"{value!r} is not one of {', '.join(choices)}")
        return value
    return Annotated[str, PlainValidator(check)]


Words = Annotated[str, BeforeValidator(_scalar_text)]  # free text: a description, a title, a label
Text = Annotated[Words, AfterValidator(_present)]  # required free text: empty is missing
Name = Annotated[str, PlainValidator(_name)]  # a lowercase SQL name
Names = Annotated[tuple[str, ...], PlainValidator(_names)]  # `a` or `[a, b]`
