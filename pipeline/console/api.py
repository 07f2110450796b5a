"""The data API, `/api/v1/`: a client's token pulls the same rows its exports would hold, streamed as CSV, JSON
or XLSX. A token is bound to one client: the template's client parameter is set from it, and a request naming
another client is refused. Every call is logged; calls are rate limited per token."""

from __future__ import annotations

import collections
import datetime as dt
import json
import threading
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from pipeline.config import ExportSettings
from pipeline.console import accounts, web
from pipeline.console.reports import TooManyStreams, check_allowed, report_response
from pipeline.exports.completeness import incomplete, period_gaps, warehouse_regions
from pipeline.exports.schedule import Interval
from pipeline.exports.templates import (
    BUILTIN_PARAMS,
    CLIENT_PARAM,
    ParameterError,
    Template,
    load_templates,
    parse_typed,
)
from pipeline.statedb import StateDB, state_db
from pipeline.windows import utcnow

blueprint = Blueprint("api", __name__)
API_FORMATS = ("csv", "json", "xlsx")
RESERVED = (*BUILTIN_PARAMS, "format", "allow_incomplete")
_calls: dict[str, collections.deque] = collections.defaultdict(collections.deque)
_calls_lock = threading.Lock()


def problem(status: int, detail: str, parameter: str | None = None, **details: Any) -> Response:
    """An error as JSON: {"error": what is wrong, "parameter": the culprit when there is one, and `details`}."""
    body = {"error": detail, **({"parameter": parameter} if parameter else {}), **details}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="analytics-pipeline"'
    return response


def seconds_until_allowed(token_id: str, per_minute: int, now: float) -> float:
    """0 when the token may call now (the call is counted), else how long until it may: a sliding minute."""
    with _calls_lock:
        recent = _calls[token_id]
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= per_minute:
            return 60 - (now - recent[0])
        recent.append(now)
        return 0.0


LOGGED_PATH_CHARS, LOGGED_PARAMS_CHARS = 256, 2048


def clipped(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def record_call(db: StateDB, token: accounts.Token, path: str, template: str | None, params: dict | None,
                file_format: str | None, rows: int | None, status: int, keep_days: int) -> None:
    """One row in the call log, its path and parameters clipped (a client chooses their length); calls older
    than `keep_days` ([console] api_log_days) are forgotten."""
    now = dt.datetime.now(dt.UTC)
    db.run_file("record_api_call.sql", {
        "called_at": accounts.now_text(now), "token_id": token.token_id, "token_name": token.name,
        "client_id": token.client_id, "path": clipped(path, LOGGED_PATH_CHARS),
        "template": clipped(template, LOGGED_PATH_CHARS),
        "params": clipped(json.dumps(params, default=str, sort_keys=True), LOGGED_PARAMS_CHARS)
        if params is not None else None,
        "format": clipped(file_format, 16), "rows_sent": rows, "status": status,
        "forget_before": accounts.now_text(now - dt.timedelta(days=keep_days))})


_refusals_logged: dict[str, float] = {}


def refusal_to_log(token_id: str, now: float) -> bool:
    """Whether a rate-limited call is logged: the first of each minute per token, so that a client hammering
    the API cannot grow the log at its own pace."""
    with _calls_lock:
        if now - _refusals_logged.get(token_id, -60.0) < 60:
            return False
        _refusals_logged[token_id] = now
        return True


def log_call(template: str | None, params: dict | None, file_format: str | None, rows: int | None,
             status: int) -> None:
    with web.state().transaction() as db:
        record_call(db, g.token, request.path, template, params, file_format, rows, status,
                    web.settings().api_log_days)


@blueprint.before_request
def _authenticate() -> Response | None:
    if request.endpoint == "api.openapi":
        return None
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return problem(401, "missing token: send the header Authorization: Bearer <token>")
    with web.state().transaction(write=False) as db:
        token = accounts.token_for(db, presented.strip())
    if token is None:
        return problem(401, "unknown or revoked token")
    g.token = token
    per_minute = web.settings().api_requests_per_minute
    wait = seconds_until_allowed(token.token_id, per_minute, time.monotonic())
    if wait:
        if refusal_to_log(token.token_id, time.monotonic()):
            log_call(None, None, None, None, 429)
        response = problem(429, f"more than {per_minute} calls a minute with this token")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    return None


def client_templates() -> dict[str, Template]:
    """The templates a client's token may use: those whose rows are one client's."""
    return {name: template for name, template in load_templates().items() if template.for_clients}


def describe(template: Template) -> dict[str, Any]:
    return {
        "name": template.name, "title": template.title, "description": template.description,
        "parameters": {name: {"label": p.label, "type": p.type, **({"values": list(p.values)} if p.values else {})}
                       for name, p in template.parameters.items() if name != CLIENT_PARAM},
        "columns": [{"name": c.name, "label": c.label, "format": c.format} for c in template.columns.values()],
        "url": f"/api/v1/reports/{template.name}",
    }


@blueprint.get("/reports")
def reports() -> Response:
    listed = [describe(template) for template in client_templates().values()]
    log_call(None, None, "json", len(listed), 200)
    return jsonify({"client_id": g.token.client_id, "reports": listed})


def parse_request(template: Template, args: Any) -> tuple[dict[str, Any], Interval, str]:
    """The parameters (the client's from the token), interval and format; ParameterError names the culprit."""
    repeated = sorted(name for name in args if len(args.getlist(name)) > 1)
    if repeated:  # which one would count is a guess; the client gets to say
        raise ParameterError(repeated[0], "given more than once")
    dates = {}
    for name in BUILTIN_PARAMS:
        try:
            dates[name] = parse_typed("date", args.get(name, ""))
        except ValueError:
            raise ParameterError(name, f"{args.get(name, '')!r} is not a date (YYYY-MM-DD)" if args.get(name)
                                 else "missing (YYYY-MM-DD)") from None
    if dates["end"] <= dates["start"]:
        raise ParameterError("end", "must be after start (it is exclusive)")
    if (dates["end"] - dates["start"]).days > web.settings().api_max_days:
        raise ParameterError("end", f"at most {web.settings().api_max_days} days per request")
    if args.get("allow_incomplete", "false") not in ("true", "false"):
        raise ParameterError("allow_incomplete", "true or false")
    file_format = args.get("format", "json")
    if file_format not in API_FORMATS:
        raise ParameterError("format", f"{file_format!r} is not one of {', '.join(API_FORMATS)}")
    given = {name: value for name, value in args.items() if name not in RESERVED}
    given[CLIENT_PARAM] = g.token.client_id
    return template.parse_params(given), Interval(dates["start"], dates["end"]), file_format


@blueprint.get("/reports/<name>")
def report(name: str) -> Response:
    template = client_templates().get(name)
    if template is None:
        log_call(name, None, None, None, 404)
        return problem(404, f"no report {name!r}; GET /api/v1/reports lists them")
    asked = request.args.get(CLIENT_PARAM)
    if asked is not None and asked != g.token.client_id:
        log_call(name, dict(request.args), None, None, 403)
        return problem(403, f"this token is for client {g.token.client_id!r}, not {asked!r}", CLIENT_PARAM)
    try:
        params, interval, file_format = parse_request(template, request.args)
        check_allowed(web.warehouse(), template, {k: v for k, v in params.items() if k != CLIENT_PARAM})
    except ParameterError as error:
        log_call(name, dict(request.args), None, None, 400)
        return problem(400, str(error), error.parameter)
    gaps = period_gaps(web.warehouse(), warehouse_regions(web.warehouse()), interval) \
        if ExportSettings().require_complete_data else {}
    if gaps and request.args.get("allow_incomplete") != "true":
        log_call(name, dict(request.args), file_format, None, 409)
        said = incomplete(name, interval, gaps, utcnow())
        return problem(409, f"{said}; or ask with allow_incomplete=true", complete_until={
            region: f"{gap:%Y-%m-%dT%H:%M:%S}" for region, gap in sorted(gaps.items())})
    filename = f"{name}_{g.token.client_id}_{interval.label}.{file_format}"
    token, path, state_url, keep_days = g.token, request.path, web.state().url, web.settings().api_log_days

    def logged(rows: int, failed: bool) -> None:  # runs after the last byte, outside the request context
        with state_db(state_url) as db:
            record_call(db, token, path, name, {**params, "start": interval.start, "end": interval.end},
                        file_format, rows, 500 if failed else 200, keep_days)

    try:
        response = report_response(template, params, interval, file_format, f"token:{token.token_id}", filename,
                                   on_done=logged)
        response.headers["X-Data-Complete"] = "false" if gaps else "true"
        return response
    except TooManyStreams as busy:
        log_call(name, None, file_format, None, 429)
        return problem(429, str(busy))


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(client_templates(), web.settings().api_max_days))


def openapi_document(templates: dict[str, Template], max_days: int = 366) -> dict[str, Any]:
    """OpenAPI 3.1: the two endpoints, each template's own parameters listed in its description."""
    error = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "analytics-pipeline data API", "version": "1",
                 "description": "A client's reports, the same rows as its exports. Authenticate with "
                                "`Authorization: Bearer <token>`; a token is bound to one client."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}, "parameter": {"type": "string"}}}},
        },
        "paths": {
            "/reports": {"get": {
                "summary": "The reports this token may use", "operationId": "listReports",
                "responses": {"200": {"description": "reports with their parameters and columns"},
                              "401": {**error, "description": "missing, unknown or revoked token"},
                              "429": {**error, "description": "rate limited; see Retry-After"}}}},
            "/reports/{name}": {"get": {
                "summary": "A report's rows for a period, streamed", "operationId": "getReport",
                "description": "Each parameter is given once. Reports: " + "; ".join(
                    f"`{t.name}` ({t.title}" + "".join(f", parameter `{p}`" for p in t.parameters if p != CLIENT_PARAM)
                    + ")" for t in templates.values()),
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string",
                                                                                 "enum": sorted(templates)}},
                    {"name": "start", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                     "description": "first day, YYYY-MM-DD"},
                    {"name": "end", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                     "description": f"the day after the last (exclusive), YYYY-MM-DD: after start, at most "
                                    f"{max_days} days after it"},
                    {"name": "allow_incomplete", "in": "query",
                     "schema": {"type": "boolean", "default": False},
                     "description": "serve a period the warehouse does not hold completely yet (else 409); the "
                                    "response's X-Data-Complete header says which it was"},
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(API_FORMATS),
                                                                 "default": "json"}},
                    {"name": CLIENT_PARAM, "in": "query", "schema": {"type": "string"},
                     "description": "optional: the token's client (another one is refused with 403)"},
                ],
                "responses": {
                    "200": {"description": "the rows", "content": {
                        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                        "text/csv": {"schema": {"type": "string"}},
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                            {"schema": {"type": "string", "format": "binary"}}}},
                    "400": {**error, "description": "a parameter outside its declaration (named)"},
                    "401": {**error, "description": "missing, unknown or revoked token"},
                    "403": {**error, "description": "another client than the token's"},
                    "404": {**error, "description": "no such report for clients"},
                    "409": {**error, "description": "the period is not complete in the warehouse yet; the body's "
                                                    "complete_until gives each region's progress"},
                    "429": {**error, "description": "rate limited; see Retry-After"},
                }}},
        },
    }
