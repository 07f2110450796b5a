"""Preview a report template in the page, and download its whole result as CSV or XLSX."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, g, render_template, request

from pipeline.console import accounts, web
from pipeline.console.reports import allowed_values, check_allowed, report_response
from pipeline.exports.render import report_title, template_rows
from pipeline.exports.schedule import Interval, interval_for
from pipeline.exports.templates import ParameterError, Template, load_templates

blueprint = Blueprint("preview", __name__)


def _preview_request(templates: dict[str, Template], complete: bool
                     ) -> tuple[Template, dict[str, Any], Interval, dict[str, str]]:
    """The template, parameters and interval a preview asks for, and what is wrong with them, by field; a
    missing parameter counts only when the request must be `complete` (a first visit has none yet)."""
    template = templates.get(request.args.get("template", "")) or next(iter(templates.values()))
    errors: dict[str, str] = {}
    default = interval_for("previous_week", web.today())
    start, end = default.start, default.end
    try:
        start = web.parse_day(request.args["start"]) if request.args.get("start") else start
    except ValueError as error:
        errors["start"] = str(error)
    # The form's `to` is the last day, included, as people read periods; `end` (exclusive, as the API's) is
    # accepted too. Either one's error shows beside the form's field.
    field = "to"
    exclusive = not request.args.get("to") and bool(request.args.get("end"))
    try:
        if request.args.get("to"):
            end = web.parse_day(request.args["to"]) + dt.timedelta(days=1)
        elif request.args.get("end"):
            end = web.parse_day(request.args["end"])
    except ValueError as error:
        errors[field] = str(error)
    max_days = web.settings().api_max_days
    if field not in errors and end <= start:
        errors[field] = "must be after the start (exclusive)" if exclusive else "must not be before the start"
    elif field not in errors and (end - start).days > max_days:  # the API's cap: one query, one year
        errors[field] = f"at most {max_days} days from the start"
    params = {}
    for name, parameter in template.parameters.items():
        raw = request.args.get(f"param_{name}", "")
        try:
            params[name] = parameter.parse(raw)
        except ParameterError as error:
            if raw or complete:
                errors[f"params.{name}"] = error.problem
    return template, params, Interval(start, end) if end > start else default, errors


def preview_query(template: Template, params: dict[str, Any], interval: Interval) -> dict[str, str]:
    """The query string of a preview (and of its downloads): only the fields the preview reads."""
    return {"template": template.name, "start": f"{interval.start}", "to": f"{interval.last}", "run": "1",
            **{f"param_{name}": f"{value}" for name, value in params.items()}}


@blueprint.route("/preview")
def preview() -> Any:
    templates = load_templates()
    template, params, interval, errors = _preview_request(templates, complete="run" in request.args)
    columns, rows, more = [], [], False
    connection = web.warehouse()
    choices = {param: allowed_values(connection, template, param) for param in template.parameters}
    if "run" in request.args and not errors:
        try:
            check_allowed(connection, template, params)
        except ParameterError as error:
            errors[f"params.{error.parameter}"] = error.problem
        else:
            limit = web.settings().preview_rows
            with template_rows(connection, template, params, interval, limit + 1) as (columns, batches):
                for batch in batches:
                    rows.extend(batch)
                    if len(rows) > limit:
                        break
            more, rows = len(rows) > limit, rows[:limit]
    return render_template("preview.html", templates=templates, template=template, params=params,
                           interval=interval, errors=errors, columns=columns, rows=rows, more=more, choices=choices,
                           ran="run" in request.args and not errors,
                           title=report_title(template, params, interval),
                           query=preview_query(template, params, interval)), 400 if errors else 200


@blueprint.route("/preview/download.<any(csv, xlsx):file_format>")
def preview_download(file_format: str) -> Any:
    templates = load_templates()
    template, params, interval, errors = _preview_request(templates, complete=True)
    if errors:
        abort(400, "; ".join(f"{field}: {problem}" for field, problem in errors.items()))
    try:
        check_allowed(web.warehouse(), template, params)
    except ParameterError as error:
        abort(400, str(error))
    with web.state().transaction() as db:
        accounts.record(db, g.user.email, "preview downloaded", template.name, None,
                        {"params": params, "start": interval.start, "end": interval.end, "format": file_format})
    filename = f"{template.name}_{interval.label}.{file_format}"
    return report_response(template, params, interval, file_format, f"user:{g.user.email}", filename)
