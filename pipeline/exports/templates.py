"""Report templates: a query `sql/exports/<name>.sql` and its declaration `<name>.yml` beside it (title,
parameters with types and allowed values, column labels and formats). Templates are code, reviewed in git;
subscriptions, the console and the data API only choose one and give its parameters values."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, ValidationInfo, model_validator

from pipeline.declarations import Invalid, Spec, Text, Words, one_of, validate
from pipeline.sqlfiles import parse_yaml, read_sql, sql_dir, statements
from pipeline.warehouse import Warehouse

BUILTIN_PARAMS = ("start", "end")  # bound by each run: the interval's first day and the day after its last
CLIENT_PARAM = "client_id"  # the parameter an API token binds: templates without it are staff-only
PARAM_TYPES = ("text", "integer", "date")
TYPE_NAMES = {"text": "a text", "integer": "an integer", "date": "a date (YYYY-MM-DD)"}
# How a column reads in a spreadsheet (Excel number formats); CSV writes values as they are.
COLUMN_FORMATS = {
    "text": None, "boolean": None, "integer": "#,##0", "number": "#,##0.00", "percent": "0.0%",
    "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class TemplateError(ValueError):
    """A declaration is invalid; the message names the file and the field."""


class ParameterError(ValueError):
    """A parameter value is outside its declaration; `parameter` names it (forms show the message beside it)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.problem = message


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    type: str = "text"
    values: tuple[Any, ...] | None = None  # the allowed values, when fixed
    lookup: str | None = None  # else a query under sql/exports/ whose first column lists them

    def parse(self, raw: Any) -> Any:
        """A value of the declared type from a form, a URL or a YAML file; ParameterError when it is not one."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise ParameterError(self.name, "missing")
        if isinstance(raw, str) and _CONTROL.search(raw.strip()):
            raise ParameterError(self.name, "contains a control character (a line break, a tab or NUL)")
        try:
            value = parse_typed(self.type, raw)
        except ValueError:
            raise ParameterError(self.name, f"{raw!r} is not {TYPE_NAMES[self.type]}") from None
        if self.values is not None and value not in self.values:
            raise ParameterError(self.name, f"{value!r} is not one of {', '.join(map(str, self.values))}")
        return value


_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_typed(kind: str, raw: Any) -> Any:
    """Strictly: ASCII digits for an integer (Python's int() takes '٣' and '1_0'), YYYY-MM-DD for a date
    (fromisoformat takes '20261205' and '2026-W49-6'), and text without control characters (a NUL or a line
    break has no business in a parameter and breaks what it reaches)."""
    if kind == "integer":
        if isinstance(raw, bool):
            raise ValueError(raw)
        if isinstance(raw, int):
            return raw
        if not _INTEGER.fullmatch(str(raw).strip()):
            raise ValueError(raw)
        return int(str(raw).strip())
    if kind == "date":
        if isinstance(raw, dt.date):
            return raw
        if not _DATE.fullmatch(str(raw).strip()):
            raise ValueError(raw)
        return dt.date.fromisoformat(str(raw).strip())
    text = str(raw).strip()
    if _CONTROL.search(text):
        raise ValueError(raw)
    return text


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    format: str = "text"

    @property
    def number_format(self) -> str | None:
        return COLUMN_FORMATS[self.format]


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    parameters: dict[str, Parameter]
    columns: dict[str, Column]

    @property
    def query_file(self) -> str:
        return f"exports/{self.name}.sql"

    @property
    def for_clients(self) -> bool:
        """Whether a client's API token may use it: its rows are one client's."""
        return CLIENT_PARAM in self.parameters

    def column(self, name: str) -> Column:
        """The declared column, or one labelled from its name (a query changed ahead of its declaration)."""
        return self.columns.get(name) or Column(name, name.replace("_", " ").capitalize())

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Every declared parameter, typed; an unknown or missing one raises ParameterError naming it."""
        builtin = sorted(set(raw) & set(BUILTIN_PARAMS))
        if builtin:
            raise ParameterError(builtin[0], "set by each run (the interval); do not set it")
        unknown = sorted(set(raw) - set(self.parameters))
        if unknown:
            raise ParameterError(unknown[0], f"not a parameter of {self.name} (it takes "
                                             f"{', '.join(self.parameters) or 'none'})")
        return {name: parameter.parse(raw.get(name)) for name, parameter in self.parameters.items()}

    def allowed_values(self, connection: Warehouse, parameter: str) -> list[Any] | None:
        """The values `parameter` may take (its lookup query run now), or None when any value of its type."""
        declared = self.parameters[parameter]
        if declared.values is not None:
            return list(declared.values)
        if declared.lookup is None:
            return None
        return [parse_typed(declared.type, row[0]) for row in connection.query_file(f"exports/{declared.lookup}")]


class _ParameterSpec(Spec):
    what = "a mapping (label, type, values or lookup)"

    label: Words = ""
    type: one_of(*PARAM_TYPES) = "text"  # type: ignore[valid-type]
    values: list[Any] | None = None
    lookup: str | None = None

    @model_validator(mode="after")
    def _allowed(self) -> _ParameterSpec:
        if self.values is not None:
            if not self.values:
                raise Invalid("expected a non-empty list", at="values")
            if self.lookup is not None:
                raise Invalid("give values or lookup, not both")
            try:
                self.typed_values()
            except ValueError as error:
                raise Invalid(f"{error} is not a {self.type}", at="values") from None
        if self.lookup is not None:
            if ".." in Path(self.lookup).parts or not self.lookup.endswith(".sql"):
                raise Invalid(f"{self.lookup!r}: expected a .sql file under sql/exports/", at="lookup")
            try:
                read_sql(f"exports/{self.lookup}")
            except FileNotFoundError:
                raise Invalid(f"{self.lookup} does not exist under sql/exports/", at="lookup") from None
        return self

    def typed_values(self) -> tuple[Any, ...] | None:
        return None if self.values is None else tuple(parse_typed(self.type, value) for value in self.values)


class _ColumnSpec(Spec):
    label: Words = ""
    format: one_of(*COLUMN_FORMATS) = "text"  # type: ignore[valid-type]


def _column_specs(columns: Any) -> Any:
    """`name:` alone takes the defaults (its name as label, text)."""
    if not isinstance(columns, Mapping):
        return columns
    if not columns:
        raise Invalid("missing")
    return {name: {} if spec is None else spec for name, spec in columns.items()}


class _TemplateSpec(Spec):
    what = "a mapping (title, description, parameters, columns)"

    title: Text
    description: Text
    parameters: dict[str, _ParameterSpec] = {}
    columns: Annotated[dict[str, _ColumnSpec], BeforeValidator(_column_specs)]

    @model_validator(mode="after")
    def _bound_by_the_query(self, info: ValidationInfo) -> _TemplateSpec:
        """The declared parameters are the ones the query binds, besides those each run binds."""
        for builtin in BUILTIN_PARAMS:
            if builtin in self.parameters:
                raise Invalid("set by each run (the interval); do not declare it", at=("parameters", builtin))
        binds = set(_PLACEHOLDER.findall(info.context["sql"])) - set(BUILTIN_PARAMS)
        extra, undeclared = sorted(set(self.parameters) - binds), sorted(binds - set(self.parameters))
        if undeclared:
            raise Invalid(f"{undeclared[0]} is bound by the query but not declared", at="parameters")
        if extra:
            raise Invalid(f"{extra[0]} is declared but the query does not bind it", at="parameters")
        return self


def parse_template(name: str, declaration: str, sql: str, source: str) -> Template:
    """Validate a declaration against its query; TemplateError names the file, the field and its line."""
    if not _NAME.match(name):
        raise TemplateError(f"{source}: a template name is lowercase letters, digits and underscores")
    try:
        raw = parse_yaml(declaration) or {}
    except yaml.YAMLError as error:
        raise TemplateError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    if len(statements(sql)) != 1:
        raise TemplateError(f"{source}: its query must be exactly one statement")
    spec, found = validate(_TemplateSpec, raw, sql=sql)
    if spec is None:
        raise TemplateError(found[0].message(source))
    parameters = {name: Parameter(name, declared.label or name.replace("_", " ").capitalize(), declared.type,
                                  declared.typed_values(), declared.lookup)
                  for name, declared in spec.parameters.items()}
    columns = {name: Column(name, declared.label or name, declared.format) for name, declared in spec.columns.items()}
    return Template(name, spec.title, spec.description.strip(), parameters, columns)


def load_templates(root: Path | None = None) -> dict[str, Template]:
    """Every template under sql/exports/: each top-level query needs its declaration beside it."""
    folder = (root or sql_dir()) / "exports"
    templates = {}
    for query in sorted(folder.glob("*.sql")):
        declaration = query.with_suffix(".yml")
        if not declaration.is_file():
            raise TemplateError(f"{query}: a report template needs its declaration {declaration.name} beside it")
        templates[query.stem] = parse_template(query.stem, declaration.read_text(encoding="utf-8"),
                                               query.read_text(encoding="utf-8"), str(declaration))
    return templates


def find_template(templates: dict[str, Template], name: str) -> Template:
    try:
        return templates[name]
    except KeyError:
        raise TemplateError(f"unknown template {name!r}; there are: {', '.join(sorted(templates))}") from None
