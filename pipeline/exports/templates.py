"""Report templates: a query `sql/exports/<name>.sql` and its declaration `<name>.yml` beside it (title,
parameters with types and allowed values, column labels and formats). Templates are code, reviewed in git;
subscriptions, the console and the data API only choose one and give its parameters values."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.sqlfiles import line_of, parse_yaml, read_sql, sql_dir, statements
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
_TEMPLATE_KEYS = {"title", "description", "parameters", "columns"}
_PARAMETER_KEYS = {"label", "type", "values", "lookup"}
_COLUMN_KEYS = {"label", "format"}


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


def _refuse_unknown(spec: dict, known: set[str], prefix: str, fail) -> None:
    """A declaration's field that is none of `known` fails, named with its path (`prefix` + the field)."""
    unknown = sorted(set(spec) - known)
    if unknown:
        raise fail(f"{prefix}{unknown[0]}", f"unknown field; known: {', '.join(sorted(known))}")


def _parse_parameter(name: str, raw: Any, fail) -> Parameter:
    if not isinstance(raw, dict):
        raise fail(f"parameters.{name}", "expected a mapping (label, type, values or lookup)")
    _refuse_unknown(raw, _PARAMETER_KEYS, f"parameters.{name}.", fail)
    kind = raw.get("type", "text")
    if kind not in PARAM_TYPES:
        raise fail(f"parameters.{name}.type", f"{kind!r} is not one of {', '.join(PARAM_TYPES)}")
    values = raw.get("values")
    if values is not None:
        if not isinstance(values, list) or not values:
            raise fail(f"parameters.{name}.values", "expected a non-empty list")
        try:
            values = tuple(parse_typed(kind, value) for value in values)
        except ValueError as error:
            raise fail(f"parameters.{name}.values", f"{error} is not a {kind}") from None
    lookup = raw.get("lookup")
    if lookup is not None:
        if values is not None:
            raise fail(f"parameters.{name}", "give values or lookup, not both")
        if ".." in Path(str(lookup)).parts or not str(lookup).endswith(".sql"):
            raise fail(f"parameters.{name}.lookup", f"{lookup!r}: expected a .sql file under sql/exports/")
        try:
            read_sql(f"exports/{lookup}")
        except FileNotFoundError:
            raise fail(f"parameters.{name}.lookup", f"{lookup} does not exist under sql/exports/") from None
    return Parameter(name, str(raw.get("label") or name.replace("_", " ").capitalize()), kind, values, lookup)


def parse_template(name: str, declaration: str, sql: str, source: str) -> Template:
    """Validate a declaration against its query; TemplateError names the file and the field."""

    def fail(field: str, problem: str) -> TemplateError:
        return TemplateError(f"{source}, field {field!r}: {problem}" + line_of(raw, field))

    raw: Any = {}
    if not _NAME.match(name):
        raise TemplateError(f"{source}: a template name is lowercase letters, digits and underscores")
    try:
        raw = parse_yaml(declaration) or {}
    except yaml.YAMLError as error:
        raise TemplateError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: expected a mapping (title, description, parameters, columns)")
    _refuse_unknown(raw, _TEMPLATE_KEYS, "", fail)
    for required in ("title", "description", "columns"):
        if not raw.get(required):
            raise fail(required, "missing")
    if len(statements(sql)) != 1:
        raise TemplateError(f"{source}: its query must be exactly one statement")

    declared = raw.get("parameters") or {}
    if not isinstance(declared, dict):
        raise fail("parameters", "expected a mapping of parameter names")
    parameters = {name: _parse_parameter(name, spec, fail) for name, spec in declared.items()}
    binds = set(_PLACEHOLDER.findall(sql)) - set(BUILTIN_PARAMS)
    for builtin in BUILTIN_PARAMS:
        if builtin in parameters:
            raise fail(f"parameters.{builtin}", "set by each run (the interval); do not declare it")
    if binds != set(parameters):
        extra, undeclared = sorted(set(parameters) - binds), sorted(binds - set(parameters))
        problem = f"{undeclared[0]} is bound by the query but not declared" if undeclared else \
            f"{extra[0]} is declared but the query does not bind it"
        raise fail("parameters", problem)

    if not isinstance(raw["columns"], dict):
        raise fail("columns", "expected a mapping of the query's column names")
    columns = {}
    for column, spec in raw["columns"].items():
        spec = spec if isinstance(spec, dict) else {}
        _refuse_unknown(spec, _COLUMN_KEYS, f"columns.{column}.", fail)
        number_format = spec.get("format", "text")
        if number_format not in COLUMN_FORMATS:
            raise fail(f"columns.{column}.format", f"{number_format!r} is not one of {', '.join(COLUMN_FORMATS)}")
        columns[column] = Column(column, str(spec.get("label") or column), number_format)
    return Template(name, str(raw["title"]), str(raw["description"]).strip(), parameters, columns)


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
