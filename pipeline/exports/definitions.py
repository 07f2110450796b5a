"""Export definitions: the entries of exports.yml (code, deployed) and the subscriptions made in the console
(data), validated by the same rules, with errors naming the export and the field."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import exports
from pipeline.exports import subscriptions
from pipeline.exports.schedule import INTERVALS, Schedule, parse_schedule
from pipeline.exports.templates import ParameterError, Template, TemplateError, find_template, load_templates
from pipeline.sqlfiles import sql_dir

FORMATS = ("csv", "xlsx")
TEMPLATE_FIELDS = ("name", "description", "start", "end", "interval", "rows", "format", "file", "link")
DEFAULT_SUBJECT = "$description: $interval"
DEFAULT_BODY = "Hello,\n\n$description for $interval: $rows rows, $file\n\n-- analytics-pipeline\n"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
EMAIL = re.compile(r"^[^@\s,;<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_KNOWN_KEYS = {"name", "description", "template", "query", "params", "format", "schedule", "interval",
               "recipients", "cc", "subject", "body", "skip_if_empty", "csv_bom", "paused"}
_FLAGS = ("skip_if_empty", "csv_bom", "paused")


class ExportConfigError(ValueError):
    """A definition is invalid; the message names the file, the export and the field (`field`, for forms)."""

    def __init__(self, message: str, field: str | None = None, problem: str | None = None):
        super().__init__(message)
        self.field = field
        self.problem = problem or message


@dataclass(frozen=True)
class ExportDefinition:
    name: str
    description: str
    template: Template
    params: dict[str, Any]
    format: str
    schedule: Schedule
    interval: str
    recipients: tuple[str, ...]
    cc: tuple[str, ...] = ()
    subject: str = DEFAULT_SUBJECT
    body: str = DEFAULT_BODY
    skip_if_empty: bool = False
    csv_bom: bool = False  # a UTF-8 byte order mark, for Excel users who open CSV files
    paused: bool = False  # not run by its schedule; "run now" still runs it
    origin: str = "exports.yml"  # or "console": a subscription, editable there
    owner: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)  # the entry as written, for editing

    @property
    def query_file(self) -> str:
        return self.template.query_file


def _template_fields(template: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template)
            if m.group("named") or m.group("braced")}


def parse_definition(raw: Any, source: str, templates: dict[str, Template] | None = None, *,
                     origin: str = "exports.yml", owner: str | None = None) -> ExportDefinition:
    """Validate one entry (of the file, or a subscription); raise ExportConfigError naming it and the field."""
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"{source}: export {name!r}" if name else f"{source}: an export"

    def fail(field_name: str, problem: str) -> ExportConfigError:
        return ExportConfigError(f"{where}, field {field_name!r}: {problem}", field_name, problem)

    if not isinstance(raw, dict):
        raise ExportConfigError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown field; known fields are {', '.join(sorted(_KNOWN_KEYS))}")
    # `query: <file>.sql` is how entries named their template before templates had declarations.
    template_name = raw.get("template") or str(raw.get("query") or "").removesuffix(".sql")
    for required in ("name", "description", "format", "schedule", "recipients"):
        if raw.get(required) in (None, "", []):
            raise fail(required, "missing")
    if not template_name:
        raise fail("template", "missing")
    if not _NAME.match(str(name)):
        raise fail("name", "expected lowercase letters, digits and underscores (a letter first)")
    if raw["format"] not in FORMATS:
        raise fail("format", f"{raw['format']!r} is not one of {', '.join(FORMATS)}")
    try:
        schedule = parse_schedule(raw["schedule"])
    except ValueError as error:
        raise fail("schedule", str(error)) from None
    interval = raw.get("interval") or schedule.default_interval
    if interval not in INTERVALS:
        raise fail("interval", f"{interval!r} is not one of {', '.join(INTERVALS)}")
    try:
        template = find_template(load_templates() if templates is None else templates, template_name)
    except TemplateError as error:
        raise fail("template", str(error)) from None
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise fail("params", "expected a mapping of parameter names to values")
    try:
        params = template.parse_params(params)
    except ParameterError as error:
        raise fail(f"params.{error.parameter}", error.problem) from None

    addresses = {}
    for list_field in ("recipients", "cc"):
        value = raw.get(list_field) or []
        value = [value] if isinstance(value, str) else value
        for address in value:
            if not isinstance(address, str) or not EMAIL.match(address):
                raise fail(list_field, f"{address!r} is not an e-mail address")
        addresses[list_field] = tuple(value)

    templates_text = {}
    for template_field, default in (("subject", DEFAULT_SUBJECT), ("body", DEFAULT_BODY)):
        text = str(raw.get(template_field) or default)
        unknown_fields = _template_fields(text) - set(TEMPLATE_FIELDS)
        if unknown_fields:
            raise fail(template_field, f"unknown placeholder ${sorted(unknown_fields)[0]}; "
                                       f"known: {', '.join('$' + f for f in TEMPLATE_FIELDS)}")
        templates_text[template_field] = text
    for flag in _FLAGS:
        if not isinstance(raw.get(flag, False), bool):
            raise fail(flag, "expected true or false")

    return ExportDefinition(
        name=name, description=str(raw["description"]), template=template, params=params, format=raw["format"],
        schedule=schedule, interval=interval, recipients=addresses["recipients"], cc=addresses["cc"],
        subject=templates_text["subject"], body=templates_text["body"], origin=origin, owner=owner, raw=dict(raw),
        **{flag: raw.get(flag, False) for flag in _FLAGS},
    )


def parse_definitions(text: str, source: str, templates: dict[str, Template] | None = None
                      ) -> dict[str, ExportDefinition]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ExportConfigError(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    entries = document.get("exports") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ExportConfigError(f"{source}: expected a top-level 'exports:' list")
    templates = load_templates() if templates is None else templates
    definitions: dict[str, ExportDefinition] = {}
    for raw in entries:
        definition = parse_definition(raw, source, templates)
        if definition.name in definitions:
            raise ExportConfigError(f"{source}: export {definition.name!r} is defined twice")
        definitions[definition.name] = definition
    return definitions


def load_definitions(path: str | Path, templates: dict[str, Template] | None = None) -> dict[str, ExportDefinition]:
    path = Path(path)
    if not path.is_file():
        raise ExportConfigError(f"[exports] definitions: {path} does not exist")
    return parse_definitions(path.read_text(encoding="utf-8"), str(path), templates)


def definitions_file() -> Path:
    return Path(exports().definitions or sql_dir() / "exports" / "exports.yml")


def definitions(include_subscriptions: bool = True) -> dict[str, ExportDefinition]:
    """The configured exports: [exports] definitions (else sql/exports/exports.yml), then the console's
    subscriptions. A subscription that no longer validates (its template changed) is left out with its error in
    `invalid_subscriptions()`, so one stale subscription does not stop every export."""
    templates = load_templates()
    found = load_definitions(definitions_file(), templates)
    if include_subscriptions:
        for subscription in subscriptions.all_subscriptions():
            if subscription.name in found:
                continue  # cannot be created (names are checked), unless exports.yml took the name later
            try:
                found[subscription.name] = subscription_definition(subscription, templates)
            except ExportConfigError:
                continue
    return found


def subscription_definition(subscription: subscriptions.Subscription,
                            templates: dict[str, Template] | None = None) -> ExportDefinition:
    return parse_definition(subscription.entry, "console subscription", templates, origin="console",
                            owner=subscription.owner)


def invalid_subscriptions() -> dict[str, str]:
    """Subscriptions that no longer validate or whose name exports.yml now uses, with why."""
    templates = load_templates()
    file_names = set(load_definitions(definitions_file(), templates))
    problems = {}
    for subscription in subscriptions.all_subscriptions():
        if subscription.name in file_names:
            problems[subscription.name] = f"exports.yml now defines an export named {subscription.name!r}"
            continue
        try:
            subscription_definition(subscription, templates)
        except ExportConfigError as error:
            problems[subscription.name] = str(error)
    return problems


def find(definitions: dict[str, ExportDefinition], name: str) -> ExportDefinition:
    try:
        return definitions[name]
    except KeyError:
        raise ExportConfigError(f"unknown export {name!r}; defined: {', '.join(sorted(definitions))}") from None
