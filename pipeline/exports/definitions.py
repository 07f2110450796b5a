"""Export definitions: the entries of exports.yml (code, deployed) and the subscriptions made in the console
(data), validated by the same rules, with errors naming the export and the field."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, PlainValidator, ValidationInfo, field_validator

from pipeline.config import ExportSettings
from pipeline.declarations import Invalid, Spec, Text, Words, one_of, validate
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
from pipeline.sqlfiles import parse_yaml, sql_dir

FORMATS = ("csv", "xlsx")
TEMPLATE_FIELDS = ("name", "description", "start", "end", "interval", "rows", "format", "file", "link")
DEFAULT_SUBJECT = "$description: $interval"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # a body keeps its line breaks and tabs
DEFAULT_BODY = "Hello,\n\n$description for $interval: $rows rows, $file\n\n-- analytics-pipeline\n"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
EMAIL = re.compile(r"^[^@\s,;<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


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


def client_domains() -> dict[str, set[str]]:
    """{client: the domains of its own people} (sql/exports/recipients.yml, read by the declarations' reader);
    ExportConfigError naming the file, the client and the line when it is malformed."""
    path = sql_dir() / RECIPIENTS_FILE
    declared, problems = validate(dict[str, list[str]], parse_yaml(path.read_text(encoding="utf-8")) or {}
                                  if path.is_file() else {})
    if declared is None:
        raise ExportConfigError(problems[0].message(f"sql/{RECIPIENTS_FILE} (client: [domain, ...])"))
    return {client: {domain.strip().lower() for domain in domains} for client, domains in declared.items()}


def allowed_domains(client: str | None, clients: dict[str, set[str]]) -> set[str]:
    """The domains a console subscription may send a client's rows to: the staff's ([exports] staff_domains)
    and the client's own (`clients`, from client_domains); the staff's alone for a report of no single client."""
    staff = {part.strip().lower() for part in ExportSettings().staff_domains.split(",") if part.strip()}
    return staff | (clients.get(client, set()) if client else set())


def parse_definition(raw: Any, source: str, templates: dict[str, Template] | None = None, *,
                     origin: str = "exports.yml", owner: str | None = None) -> ExportDefinition:
    """Validate one entry (of the file, or a subscription); raise ExportConfigError naming it and the first
    field that is wrong."""
    definition, problems = check_definition(raw, source, templates, origin=origin, owner=owner)
    if problems:
        raise problems[0]
    return definition


def _one_line(value: str) -> str:
    """A line break in a subject breaks every e-mail of the export (a header cannot hold it)."""
    if _CONTROL.search(value):
        raise Invalid("contains a control character (a line break, a tab or NUL); write it on one line")
    return value


def _known_placeholders(value: str) -> str:
    unknown = _template_fields(value) - set(TEMPLATE_FIELDS)
    if unknown:
        known = ", ".join("$" + field for field in TEMPLATE_FIELDS)
        raise Invalid(f"unknown placeholder ${sorted(unknown)[0]}; known: {known}")
    return value


def _addresses(value: Any) -> tuple[str, ...]:
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list):
        raise Invalid(f"expected a list of e-mail addresses, got {value!r}")
    for address in listed:
        if not isinstance(address, str) or not EMAIL.match(address):
            raise Invalid(f"{address!r} is not an e-mail address")
    return tuple(listed)


Addresses = Annotated[tuple[str, ...], PlainValidator(_addresses)]


class _EntrySpec(Spec):
    """One export: an entry of exports.yml, or a console subscription. The fields are validated in this order,
    each rule that needs another field reading it from `info.data` (absent when that field was wrong), so a form
    gets every wrong field at once."""

    name: Text
    description: Annotated[Text, AfterValidator(_one_line)]
    query: str = ""  # `query: <file>.sql`: how entries named their template before templates had declarations
    template: Any = Field(None, validate_default=True)
    params: dict[str, Any] = Field(default_factory=dict, validate_default=True)  # a template may need some
    format: one_of(*FORMATS)  # type: ignore[valid-type]
    schedule: Any
    interval: Any = Field(None, validate_default=True)
    recipients: Addresses
    cc: Addresses = ()
    subject: Annotated[Words, AfterValidator(_known_placeholders), AfterValidator(_one_line)] = DEFAULT_SUBJECT
    body: Annotated[Words, AfterValidator(_known_placeholders)] = DEFAULT_BODY
    skip_if_empty: bool = False
    csv_bom: bool = False  # a UTF-8 byte order mark, for Excel users who open CSV files
    paused: bool = False  # not run by its schedule; "run now" still runs it

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise Invalid("expected lowercase letters, digits and underscores (a letter first)")
        return name

    @field_validator("template")
    @classmethod
    def _known_template(cls, name: Any, info: ValidationInfo) -> Template:
        name = name or info.data.get("query", "").removesuffix(".sql")
        if not name:
            raise Invalid("missing")
        if not isinstance(name, str):
            raise Invalid(f"expected text, got {name!r}")
        try:
            return find_template(info.context["templates"], name)
        except TemplateError as error:
            raise Invalid(str(error)) from None

    @field_validator("params")
    @classmethod
    def _template_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        template = info.data.get("template")
        if template is None:
            return params
        try:
            return template.parse_params(params)
        except ParameterError as error:
            raise Invalid(error.problem, at=error.parameter) from None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, text: Any) -> Schedule:
        try:
            return parse_schedule(text)
        except ValueError as error:
            raise Invalid(str(error)) from None

    @field_validator("interval")
    @classmethod
    def _interval(cls, interval: Any, info: ValidationInfo) -> str | None:
        schedule = info.data.get("schedule")
        interval = interval or (schedule.default_interval if schedule else None)
        if interval is not None and interval not in INTERVALS:
            raise Invalid(f"{interval!r} is not one of {', '.join(INTERVALS)}")
        return interval

    @field_validator("recipients", "cc")
    @classmethod
    def _reach(cls, addresses: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """A console subscription sends only to the domains its rows may go to (see allowed_domains)."""
        if info.field_name == "recipients" and not addresses:
            raise Invalid("missing")
        template = info.data.get("template")
        if info.context["origin"] != "console" or template is None:
            return addresses
        # The params as typed, or as written when they were wrong: the domains are still checked (a form shows
        # every wrong field at once).
        params = info.data.get("params", info.context["entry"].get("params"))
        client = params.get(CLIENT_PARAM) if template.for_clients and isinstance(params, Mapping) else None
        allowed = allowed_domains(client, info.context["domains"])
        for address in addresses:
            if domain_of(address) not in allowed:
                whose = f"client {client}'s" if template.for_clients else "the staff's"
                raise Invalid(f"{address} is outside {whose} domains ({', '.join(sorted(allowed)) or 'none'}: "
                              f"sql/exports/recipients.yml and [exports] staff_domains)")
        return addresses

    @field_validator("body")
    @classmethod
    def _body_controls(cls, body: str) -> str:
        if _BODY_CONTROL.search(body):
            raise Invalid("contains a control character other than a line break or a tab")
        return body


def check_definition(raw: Any, source: str, templates: dict[str, Template] | None = None, *,
                     origin: str = "exports.yml", owner: str | None = None,
                     clients: dict[str, set[str]] | None = None
                     ) -> tuple[ExportDefinition | None, list[ExportConfigError]]:
    """The definition of one entry, or every field that is wrong (a form shows them all at once), each an
    ExportConfigError naming the entry, the field and its line (unknown fields first, then in the order of
    _EntrySpec's fields). A console subscription's recipients are checked against `clients` (default: read
    now by client_domains, which raises on a malformed recipients.yml: it is no one subscription's fault)."""
    name = raw.get("name") if isinstance(raw, dict) else None
    where = f"{source}: export {name!r}" if name else f"{source}: an export"
    spec, problems = validate(_EntrySpec, raw, origin=origin, entry=raw if isinstance(raw, Mapping) else {},
                              templates=load_templates() if templates is None else templates,
                              domains=(client_domains() if clients is None else clients) if origin == "console" else {})
    if spec is None:
        return None, [ExportConfigError(problem.message(where), problem.field or None, problem.problem)
                      for problem in problems]
    return ExportDefinition(
        name=spec.name, description=spec.description, template=spec.template, params=spec.params,
        format=spec.format, schedule=spec.schedule, interval=spec.interval, recipients=spec.recipients, cc=spec.cc,
        subject=spec.subject, body=spec.body, skip_if_empty=spec.skip_if_empty, csv_bom=spec.csv_bom,
        paused=spec.paused, origin=origin, owner=owner, raw=dict(raw),
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
    listed = subscriptions.all_subscriptions()
    clients = client_domains() if listed else {}  # read once for all of them
    for subscription in listed:
        if subscription.name in found:  # names are unique among subscriptions: only exports.yml can hold it
            problems[subscription.name] = f"exports.yml now defines an export named {subscription.name!r}"
            continue
        definition, errors = check_definition(subscription.entry, "console subscription", templates,
                                              origin="console", owner=subscription.owner, clients=clients)
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
