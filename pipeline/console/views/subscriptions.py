"""Subscriptions: the list, one subscription (its deliveries, runs and stored files), new, edit, pause and
resume, run now and resend (queued for the worker, see pipeline.console.runs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from pipeline import paths
from pipeline.config import ExportSettings
from pipeline.console import accounts, web
from pipeline.console.reports import CONTENT_TYPES, allowed_values, check_allowed, streamed
from pipeline.console.runs import RunRefused, request_run
from pipeline.exports import subscriptions
from pipeline.exports.completeness import incomplete, period_gaps, warehouse_regions
from pipeline.exports.definitions import (
    ExportDefinition,
    check_definition,
    definitions,
    definitions_and_problems,
)
from pipeline.exports.deliver import last_deliveries
from pipeline.exports.schedule import INTERVALS, Interval, interval_for
from pipeline.exports.templates import (
    CLIENT_PARAM,
    ParameterError,
    Template,
    TemplateError,
    find_template,
    load_templates,
)
from pipeline.statedb import DuplicateKey
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse
from pipeline.windows import utcnow

blueprint = Blueprint("subscriptions", __name__)


def next_run(definition: ExportDefinition, today: dt.date) -> str:
    if definition.paused:
        return "paused"
    schedule = definition.schedule
    return f"{today if schedule.is_due(today) else schedule.next_run_date(today):%Y-%m-%d}"


@blueprint.route("/")
def home() -> Any:
    return redirect(url_for("subscriptions.subscription_list"))


@blueprint.route("/subscriptions")
def subscription_list() -> Any:
    defined, invalid = definitions_and_problems()
    delivered = last_deliveries(web.warehouse())
    today = web.today()
    rows = [{"definition": d, "next_run": next_run(d, today), "last": delivered.get(name)}
            for name, d in sorted(defined.items())]
    return render_template("subscriptions.html", rows=rows, invalid=invalid)


def _definition(name: str) -> ExportDefinition:
    found = definitions().get(name)
    if found is None:
        abort(404, f"no export or subscription named {name!r}")
    return found


@blueprint.route("/subscriptions/<name>")
def subscription(name: str) -> Any:
    definition = _definition(name)
    connection = web.warehouse()
    history = connection.records_if_made("delivery/history.sql", {"export_name": name})
    failures = connection.records_if_made("delivery/failures.sql", {"export_name": name})
    with web.state().transaction(write=False) as db:
        runs = db.query_file("runs.sql", {"subscription": name})
        stored = subscriptions.get(db, name)
    today = web.today()
    deliveries = [{**row, "interval": Interval(row["interval_start"], row["interval_end"]), "rows": row["row_count"]}
                  for row in history]
    failed = [{**row, "interval": Interval(row["interval_start"], row["interval_end"])} for row in failures]
    interval = interval_for(definition.interval, today)
    return render_template("subscription.html", d=definition, deliveries=deliveries, failed=failed, runs=runs,
                           next_run=next_run(definition, today), today=today, interval=interval,
                           not_ready=not_ready(connection, name, interval),
                           version=stored.updated_at if stored else "")


def not_ready(connection: Warehouse, name: str, interval: Interval) -> str | None:
    """Why a run for today's date would fail for missing data, before anyone clicks; None when it would not."""
    if not ExportSettings().require_complete_data:
        return None
    gaps = period_gaps(connection, warehouse_regions(connection), interval)
    return str(incomplete(name, interval, gaps, utcnow())) if gaps else None


@blueprint.route("/subscriptions/<name>/files/<run_date>")
def delivered_file(name: str, run_date: str) -> Any:
    """The stored file of the interval a run date covers, streamed from the object store."""
    definition = _definition(name)
    try:
        interval = interval_for(definition.interval, web.parse_day(run_date))
    except ValueError as error:
        abort(400, str(error))
    store = ObjectStore.from_config()
    for file_format in (definition.format, *({"csv", "xlsx"} - {definition.format})):
        path = paths.export_path(name, interval.label, file_format)
        if store.exists(path):
            return _stream_file(store, path, f"{name}_{interval.label}.{file_format}", file_format)
    abort(404, f"no stored file of {name} for {interval}")


def _stream_file(store: ObjectStore, path: str, filename: str, file_format: str) -> Response:
    def chunks() -> Iterator[bytes]:
        with store.open_read(path) as handle:
            while chunk := handle.read(1 << 16):
                yield chunk
    return streamed(chunks(), f"user:{g.user.email}", CONTENT_TYPES[file_format],
                    {"Content-Disposition": f'attachment; filename="{filename}"'})


def entry_from_form(form: Any, template: Template, name: str) -> dict[str, Any]:
    """A subscription entry, shaped like an exports.yml entry, from the form's fields."""
    def addresses(field: str) -> list[str]:
        return [part.strip() for part in form.get(field, "").replace(";", ",").split(",") if part.strip()]

    entry = {"name": name, "description": form.get("description", "").strip(), "template": template.name,
             "params": {param: form.get(f"param_{param}", "").strip() for param in template.parameters},
             "format": form.get("format", ""), "schedule": form.get("schedule", "").strip(),
             "interval": form.get("interval") or None, "recipients": addresses("recipients"), "cc": addresses("cc"),
             "skip_if_empty": form.get("skip_if_empty") == "on", "csv_bom": form.get("csv_bom") == "on",
             "paused": form.get("paused") == "on"}
    if form.get("subject", "").strip():
        entry["subject"] = form["subject"].strip()
    return {key: value for key, value in entry.items() if value is not None}


def validate_entry(entry: dict[str, Any], templates: dict[str, Template], creating: bool) -> dict[str, str]:
    """Field -> what is wrong, all at once: the rules of exports.yml, the names taken, the allowed values."""
    errors: dict[str, str] = {}
    if creating:
        with web.state().transaction(write=False) as db:
            taken = entry["name"] in definitions() or subscriptions.get(db, entry["name"]) is not None
        if taken:
            errors["name"] = f"{entry['name']!r} is taken by another export"
    _, problems = check_definition(entry, "subscription", templates, origin="console")
    for problem in problems:
        errors.setdefault(problem.field or "name", problem.problem)
    template = templates.get(entry.get("template", ""))
    if template is None or any(field.startswith("params.") for field in errors):
        return errors
    try:
        check_allowed(web.warehouse(), template, template.parse_params(entry["params"]))
    except ParameterError as error:
        errors[f"params.{error.parameter}"] = error.problem
    return errors


def _form_page(templates: dict[str, Template], template: Template, entry: dict, errors: dict, creating: bool,
               status: int = 200, version: str = "") -> Any:
    choices = {param: allowed_values(web.warehouse(), template, param) for param in template.parameters}
    return render_template("subscription_form.html", templates=templates, template=template, entry=entry,
                           errors=errors, creating=creating, choices=choices, intervals=INTERVALS,
                           version=version), status


@blueprint.route("/subscriptions/new", methods=["GET", "POST"])
@web.requires("editor")
def subscription_new() -> Any:
    templates = load_templates()
    template = templates.get(request.values.get("template", "")) or next(iter(templates.values()))
    if request.method == "GET":
        entry = {"name": "", "format": "xlsx", "schedule": "weekly on monday", "recipients": [], "cc": [],
                 "params": {}, "description": template.title}
        return _form_page(templates, template, entry, {}, creating=True)
    name = request.form.get("name", "").strip()
    entry = entry_from_form(request.form, template, name)
    errors = validate_entry(entry, templates, creating=True)
    if errors:
        return _form_page(templates, template, entry, errors, creating=True, status=400)
    try:
        with web.state().transaction() as db:
            subscriptions.insert(db, entry, g.user.email, accounts.now_text())
            accounts.record(db, g.user.email, "subscription created", name, None, entry)
    except DuplicateKey:  # created by someone else a moment ago
        return _form_page(templates, template, entry, {"name": f"{name!r} is taken by another export"},
                          creating=True, status=400)
    flash(f"Subscription {name} created.")
    return redirect(url_for("subscriptions.subscription", name=name))


def _console_subscription(name: str) -> subscriptions.Subscription:
    with web.state().transaction(write=False) as db:
        found = subscriptions.get(db, name)
    if found is None:
        abort(404 if name not in definitions() else 403,
              f"{name} is set up by the data team in exports.yml: ask them to change it")
    return found


@blueprint.route("/subscriptions/<name>/edit", methods=["GET", "POST"])
@web.requires("editor")
def subscription_edit(name: str) -> Any:
    existing = _console_subscription(name)
    templates = load_templates()
    try:
        template = find_template(templates, request.values.get("template") or existing.entry.get("template", ""))
    except TemplateError as error:
        abort(400, str(error))
    version = request.values.get("version") or existing.updated_at  # what the editor started from
    if request.method == "GET":
        return _form_page(templates, template, existing.entry, {}, creating=False, version=version)
    entry = entry_from_form(request.form, template, name)
    entry["paused"] = existing.entry.get("paused", False)  # pause and resume have their own buttons
    errors = validate_entry(entry, templates, creating=False)
    if errors:
        return _form_page(templates, template, entry, errors, creating=False, status=400, version=version)
    if audience(entry) != audience(existing.entry) and not (g.user.can("admin") or g.user.email == existing.owner):
        abort(403, f"only its owner ({existing.owner}) or an admin may change whose data {name} holds or who "
                   f"receives it")
    _save(name, version, entry, "subscription changed")
    flash(f"Subscription {name} saved.")
    return redirect(url_for("subscriptions.subscription", name=name))


def audience(entry: dict) -> tuple:
    """Whose rows a subscription sends, and to whom."""
    return ((entry.get("params") or {}).get(CLIENT_PARAM), sorted(entry.get("recipients") or []),
            sorted(entry.get("cc") or []))


def _save(name: str, version: str, after: dict, action: str) -> None:
    """Store the subscription's new entry, unless it changed since the page that asks was shown (`version`, its
    updated_at then): a second editor's save never silently undoes the first one's."""
    with web.state().transaction() as db:
        current = subscriptions.get(db, name)
        if current is None or current.updated_at != version:
            abort(409, f"{name} was changed by someone else since this page was shown: reload it")
        subscriptions.update(db, after, accounts.now_text())
        accounts.record(db, g.user.email, action, name, current.entry, after)


@blueprint.route("/subscriptions/<name>/<any(pause, resume):action>", methods=["POST"])
@web.requires("editor")
def subscription_pause(name: str, action: str) -> Any:
    existing = _console_subscription(name)
    _save(name, request.form.get("version") or existing.updated_at, {**existing.entry, "paused": action == "pause"},
          f"subscription {action}d")
    flash(f"Subscription {name} {action}d.")
    return redirect(url_for("subscriptions.subscription", name=name))


@blueprint.route("/subscriptions/<name>/<any(run, resend):action>", methods=["POST"])
@web.requires("editor")
def subscription_run(name: str, action: str) -> Any:
    definition = _definition(name)
    try:
        date = web.parse_day(request.form.get("date", ""))
    except ValueError as error:
        flash(f"Run date: {error}.", "error")
        return redirect(url_for("subscriptions.subscription", name=name))
    interval = interval_for(definition.interval, date)
    try:
        with web.state().transaction() as db:
            request_run(db, g.user.email, action, definition.name, date, web.settings().max_runs)
    except RunRefused as refused:
        flash(f"Not started: {refused}.", "error")
        return redirect(url_for("subscriptions.subscription", name=name))
    flash(f"{'Run' if action == 'run' else 'Resend'} of {name} for {interval} queued: it shows below when done.")
    return redirect(url_for("subscriptions.subscription", name=name))
