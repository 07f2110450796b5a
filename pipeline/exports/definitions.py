"""Export definitions from one YAML file, validated at load with errors naming the export and the field."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import exports
from pipeline.exports.schedule import INTERVALS, Schedule, parse_schedule
from pipeline.sqlfiles import read_sql, sql_dir

FORMATS = ("csv", "xlsx")
BUILTIN_PARAMS = ("start", "end")  # bound by the run: the interval's first day and the day after its last
TEMPLATE_FIELDS = ("name", "description", "start", "end", "interval", "rows", "format", "file", "link")
DEFAULT_SUBJECT = "$description: $interval"
DEFAULT_BODY = "Hello,\n\n$description for $interval: $rows rows, $file\n\n-- analytics-pipeline\n"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_KNOWN_KEYS = {"name", "description", "query", "params", "format", "schedule", "interval", "recipients", "cc",
               "subject", "body", "skip_if_empty"}


class ExportConfigError(ValueError):
    """A definition is invalid; the message names the file, the export and the field."""


@dataclass(frozen=True)
class ExportDefinition:
    name: str
    description: str
    query: str  # path under sql/exports/
    params: dict[str, Any]
    format: str
    schedule: Schedule
    interval: str
    recipients: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject: str = DEFAULT_SUBJECT
    body: str = DEFAULT_BODY
    skip_if_empty: bool = False

    @property
    def query_file(self) -> str:
        return f"exports/{self.query}"


def query_placeholders(sql: str) -> set[str]:
    return set(_PLACEHOLDER.findall(sql))


def _template_fields(template: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template)
            if m.group("named") or m.group("braced")}


def parse_definition(raw: Any, source: str) -> ExportDefinition:
    """Validate one entry of the file; raise ExportConfigError naming it and the offending field."""
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"{source}: export {name!r}" if name else f"{source}: an export"

    def fail(field_name: str, problem: str) -> ExportConfigError:
        return ExportConfigError(f"{where}, field {field_name!r}: {problem}")

    if not isinstance(raw, dict):
        raise ExportConfigError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown field; known fields are {', '.join(sorted(_KNOWN_KEYS))}")
    for required in ("name", "description", "query", "format", "schedule", "recipients"):
        if raw.get(required) in (None, "", []):
            raise fail(required, "missing")
    if not _NAME.match(str(name)):
        raise fail("name", "expected lowercase letters, digits and underscores")
    if raw["format"] not in FORMATS:
        raise fail("format", f"{raw['format']!r} is not one of {', '.join(FORMATS)}")
    try:
        schedule = parse_schedule(raw["schedule"])
    except ValueError as error:
        raise fail("schedule", str(error)) from None
    interval = raw.get("interval") or schedule.default_interval
    if interval not in INTERVALS:
        raise fail("interval", f"{interval!r} is not one of {', '.join(INTERVALS)}")

    query = str(raw["query"])
    if ".." in Path(query).parts or not query.endswith(".sql"):
        raise fail("query", f"{query!r}: expected a .sql file name under sql/exports/")
    try:
        sql = read_sql(f"exports/{query}")
    except FileNotFoundError:
        raise fail("query", f"{query!r} does not exist under {sql_dir() / 'exports'}") from None
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise fail("params", "expected a mapping of parameter names to values")
    binds = query_placeholders(sql)
    for param in params:
        if param in BUILTIN_PARAMS:
            raise fail("params", f"{param!r} is set by each run (the interval); do not set it")
        if param not in binds:
            raise fail("params", f"{param!r} is not bound by {query} (it binds {', '.join(sorted(binds))})")
    missing = binds - set(params) - set(BUILTIN_PARAMS)
    if missing:
        raise fail("params", f"{query} binds {', '.join(sorted(missing))}, which the definition does not set")

    addresses = {}
    for list_field in ("recipients", "cc"):
        value = raw.get(list_field) or []
        value = [value] if isinstance(value, str) else value
        for address in value:
            if not isinstance(address, str) or not _EMAIL.match(address):
                raise fail(list_field, f"{address!r} is not an e-mail address")
        addresses[list_field] = tuple(value)

    templates = {}
    for template_field, default in (("subject", DEFAULT_SUBJECT), ("body", DEFAULT_BODY)):
        template = str(raw.get(template_field) or default)
        unknown_fields = _template_fields(template) - set(TEMPLATE_FIELDS)
        if unknown_fields:
            raise fail(template_field, f"unknown placeholder ${sorted(unknown_fields)[0]}; "
                                       f"known: {', '.join('$' + f for f in TEMPLATE_FIELDS)}")
        templates[template_field] = template
    if not isinstance(raw.get("skip_if_empty", False), bool):
        raise fail("skip_if_empty", "expected true or false")

    return ExportDefinition(
        name=name, description=str(raw["description"]), query=query, params=dict(params), format=raw["format"],
        schedule=schedule, interval=interval, recipients=addresses["recipients"], cc=addresses["cc"],
        subject=templates["subject"], body=templates["body"], skip_if_empty=raw.get("skip_if_empty", False),
    )


def parse_definitions(text: str, source: str) -> dict[str, ExportDefinition]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ExportConfigError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    entries = document.get("exports") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ExportConfigError(f"{source}: expected a top-level 'exports:' list")
    definitions: dict[str, ExportDefinition] = {}
    for raw in entries:
        definition = parse_definition(raw, source)
        if definition.name in definitions:
            raise ExportConfigError(f"{source}: export {definition.name!r} is defined twice")
        definitions[definition.name] = definition
    return definitions


def load_definitions(path: str | Path) -> dict[str, ExportDefinition]:
    path = Path(path)
    if not path.is_file():
        raise ExportConfigError(f"[exports] definitions: {path} does not exist")
    return parse_definitions(path.read_text(encoding="utf-8"), str(path))


def definitions() -> dict[str, ExportDefinition]:
    """The configured definitions: [exports] definitions, else sql/exports/exports.yml of the project."""
    return load_definitions(exports().definitions or sql_dir() / "exports" / "exports.yml")


def find(definitions: dict[str, ExportDefinition], name: str) -> ExportDefinition:
    try:
        return definitions[name]
    except KeyError:
        raise ExportConfigError(f"unknown export {name!r}; defined: {', '.join(sorted(definitions))}") from None
