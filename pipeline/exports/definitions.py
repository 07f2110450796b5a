"""Export definitions: the entries of exports.yml (code, deployed) and the subscriptions made in the console
(data), validated by the same rules, with errors naming the export and the field."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import ExportSettings
from pipeline.exports import subscriptions
from pipeline.exports.schedule import INTERVALS, Schedule, parse_schedule
from pipeline.exports.templates import (
    CLIENT_PARAM,
    ParameterError,
    Template,
    TemplateError,
    find_template,
    load_templates,
)
from pipeline.sqlfiles import line_of, parse_yaml, sql_dir

FORMATS = ("csv", "xlsx")
TEMPLATE_FIELDS = ("name", "description", "start", "end", "interval", "rows", "format", "file", "link")
DEFAULT_SUBJECT = "$description: $interval"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # a body keeps its line breaks and tabs
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


RECIPIENTS_FILE = "exports/recipients.yml"


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1].strip().lower()


def allowed_domains(client: str | None) -> set[str]:
    """The domains a console subscription may send a client's rows to: the staff's ([exports] staff_domains)
    and the client's own (sql/exports/recipients.yml); the staff's alone for a report of no single client."""
    staff = {part.strip().lower() for part in ExportSettings().staff_domains.split(",") if part.strip()}
    path = sql_dir() / RECIPIENTS_FILE
    declared = parse_yaml(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if not isinstance(declared, dict) or not all(
            isinstance(domains, list) and all(isinstance(d, str) for d in domains) for domains in declared.values()):
        raise ExportConfigError(f"sql/{RECIPIENTS_FILE}: expected client: [domain, ...] mappings")
    return staff | ({domain.strip().lower() for domain in declared.get(client) or []} if client else set())


def parse_definition(raw: Any, source: str, templates: dict[str, Template] | None = None, *,
                     origin: str = "exports.yml", owner: str | None = None) -> ExportDefinition:
    """Validate one entry (of the file, or a subscription); raise ExportConfigError naming it and the first
    field that is wrong."""
    definition, problems = check_definition(raw, source, templates, origin=origin, owner=owner)
    if problems:
        raise problems[0]
    return definition


def check_definition(raw: Any, source: str, templates: dict[str, Template] | None = None, *,
                     origin: str = "exports.yml", owner: str | None = None
                     ) -> tuple[ExportDefinition | None, list[ExportConfigError]]:
    """The definition of one entry, or every field that is wrong (a form shows them all at once), each an
    ExportConfigError naming the entry and the field, in the order of the entry's fields."""
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"{source}: export {name!r}" if name else f"{source}: an export"
    if not isinstance(raw, dict):
        return None, [ExportConfigError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")]
    problems: list[ExportConfigError] = []

    def fail(field_name: str, problem: str) -> None:
        if all(known.field != field_name for known in problems):
            problems.append(ExportConfigError(f"{where}, field {field_name!r}: {problem}{line_of(raw, field_name)}",
                                              field_name, problem))

    for unknown in sorted(set(raw) - _KNOWN_KEYS):
        fail(unknown, f"unknown field; known fields are {', '.join(sorted(_KNOWN_KEYS))}")
    # `query: <file>.sql` is how entries named their template before templates had declarations.
    template_name = raw.get("template") or str(raw.get("query") or "").removesuffix(".sql")
    for required in ("name", "description", "format", "schedule", "recipients"):
        if raw.get(required) in (None, "", []):
            fail(required, "missing")
    if not template_name:
        fail("template", "missing")
    if name and not _NAME.match(str(name)):
        fail("name", "expected lowercase letters, digits and underscores (a letter first)")
    if raw.get("format") and raw["format"] not in FORMATS:
        fail("format", f"{raw['format']!r} is not one of {', '.join(FORMATS)}")
    schedule = None
    if raw.get("schedule"):
        try:
            schedule = parse_schedule(raw["schedule"])
        except ValueError as error:
            fail("schedule", str(error))
    interval = raw.get("interval") or (schedule.default_interval if schedule else None)
    if interval is not None and interval not in INTERVALS:
        fail("interval", f"{interval!r} is not one of {', '.join(INTERVALS)}")
    template = None
    if template_name:
        try:
            template = find_template(load_templates() if templates is None else templates, template_name)
        except TemplateError as error:
            fail("template", str(error))
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        fail("params", "expected a mapping of parameter names to values")
    elif template is not None:
        try:
            params = template.parse_params(params)
        except ParameterError as error:
            fail(f"params.{error.parameter}", error.problem)

    addresses = {}
    for list_field in ("recipients", "cc"):
        value = raw.get(list_field) or []
        value = [value] if isinstance(value, str) else value
        for address in value:
            if not isinstance(address, str) or not EMAIL.match(address):
                fail(list_field, f"{address!r} is not an e-mail address")
        addresses[list_field] = tuple(value)

    if origin == "console" and template is not None and isinstance(params, dict):
        allowed = allowed_domains(params.get(CLIENT_PARAM) if CLIENT_PARAM in template.parameters else None)
        for list_field in ("recipients", "cc"):
            for address in addresses[list_field]:
                if isinstance(address, str) and EMAIL.match(address) and domain_of(address) not in allowed:
                    whose = (f"client {params[CLIENT_PARAM]}'s" if CLIENT_PARAM in template.parameters
                             else "the staff's")
                    fail(list_field, f"{address} is outside {whose} domains ({', '.join(sorted(allowed)) or 'none'}: "
                                     f"sql/exports/recipients.yml and [exports] staff_domains)")

    texts = {}
    for text_field, default in (("subject", DEFAULT_SUBJECT), ("body", DEFAULT_BODY)):
        texts[text_field] = str(raw.get(text_field) or default)
        unknown_fields = _template_fields(texts[text_field]) - set(TEMPLATE_FIELDS)
        if unknown_fields:
            fail(text_field, f"unknown placeholder ${sorted(unknown_fields)[0]}; "
                             f"known: {', '.join('$' + f for f in TEMPLATE_FIELDS)}")
    # One line each: a line break in a subject breaks every e-mail of the export (a header cannot hold it).
    for line_field in ("description", "subject"):
        if isinstance(raw.get(line_field), str) and _CONTROL.search(raw[line_field]):
            fail(line_field, "contains a control character (a line break, a tab or NUL); write it on one line")
    if isinstance(raw.get("body"), str) and _BODY_CONTROL.search(raw["body"]):
        fail("body", "contains a control character other than a line break or a tab")
    for flag in _FLAGS:
        if not isinstance(raw.get(flag, False), bool):
            fail(flag, "expected true or false")

    if problems:
        return None, problems
    return ExportDefinition(
        name=name, description=str(raw["description"]), template=template, params=params, format=raw["format"],
        schedule=schedule, interval=interval, recipients=addresses["recipients"], cc=addresses["cc"],
        subject=texts["subject"], body=texts["body"], origin=origin, owner=owner, raw=dict(raw),
        **{flag: raw.get(flag, False) for flag in _FLAGS},
    ), []


def parse_definitions(text: str, source: str, templates: dict[str, Template] | None = None
                      ) -> dict[str, ExportDefinition]:
    try:
        document = parse_yaml(text) or {}
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
    return Path(ExportSettings().definitions or sql_dir() / "exports" / "exports.yml")


def definitions() -> dict[str, ExportDefinition]:
    """The configured exports: [exports] definitions (else sql/exports/exports.yml), then the console's
    subscriptions (see definitions_and_problems)."""
    return definitions_and_problems()[0]


def definitions_and_problems() -> tuple[dict[str, ExportDefinition], dict[str, str]]:
    """The exports, and the subscriptions left out of them with why: one that no longer validates (its
    template changed) or whose name exports.yml took later. One stale subscription never stops every export."""
    templates = load_templates()
    found = load_definitions(definitions_file(), templates)
    problems = {}
    for subscription in subscriptions.all_subscriptions():
        if subscription.name in found:  # names are unique among subscriptions: only exports.yml can hold it
            problems[subscription.name] = f"exports.yml now defines an export named {subscription.name!r}"
            continue
        definition, errors = check_definition(subscription.entry, "console subscription", templates,
                                              origin="console", owner=subscription.owner)
        if errors:
            problems[subscription.name] = str(errors[0])
        else:
            found[subscription.name] = definition
    return found, problems


def find(definitions: dict[str, ExportDefinition], name: str) -> ExportDefinition:
    try:
        return definitions[name]
    except KeyError:
        raise ExportConfigError(f"unknown export {name!r}; defined: {', '.join(sorted(definitions))}") from None
