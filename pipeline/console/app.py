"""The console's pages: subscriptions (list, one, new, edit, pause/resume, run now, resend), template preview
and downloads, the audit log, users and API tokens. Server-rendered (Jinja2 escapes every value); a form
posts a CSRF token from the session; roles: viewer < editor < admin."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from pipeline import paths
from pipeline.alerts import first_line
from pipeline.config import ConfigError, console
from pipeline.console import accounts, api
from pipeline.console.accounts import AccountError, LoginRefused
from pipeline.console.reports import (
    CONTENT_TYPES,
    TooManyStreams,
    allowed_values,
    check_allowed,
    known_clients,
    report_response,
    streamed,
    warehouse,
)
from pipeline.console.runs import RunRefused, start_run
from pipeline.exports import subscriptions
from pipeline.exports.definitions import (
    ExportDefinition,
    check_definition,
    definitions,
    definitions_and_problems,
)
from pipeline.exports.render import report_title, template_rows
from pipeline.exports.schedule import INTERVALS, Interval, interval_for
from pipeline.exports.templates import (
    CLIENT_PARAM,
    ParameterError,
    Template,
    TemplateError,
    find_template,
    load_templates,
    parse_typed,
)
from pipeline.secrets import redact
from pipeline.statedb import state_db
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse

pages = Blueprint("pages", __name__)


def create_app() -> Flask:
    settings = console()
    app = Flask(__name__)
    app.secret_key = session_key(settings.secret_key_env)
    app.config.update(
        SESSION_COOKIE_NAME="pipeline_console", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies, MAX_CONTENT_LENGTH=1 << 20,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours))
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.register_blueprint(pages)
    app.register_blueprint(api.blueprint, url_prefix="/api/v1")
    app.after_request(_security_headers)
    app.register_error_handler(TooManyStreams, lambda busy: TooManyRequests(str(busy)))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals.update(csrf_token=_csrf_token, ROLES=accounts.ROLES)
    app.jinja_env.filters["when"] = lambda text: text[:19].replace("T", " ") if text else ""
    app.jinja_env.filters["tojson_pretty"] = lambda value: json.dumps(json.loads(value), indent=1, sort_keys=True) \
        if value else ""
    return app


def _http_error(error: HTTPException) -> Response | HTTPException:
    """Under /api/ an error is JSON, as the API's own refusals are; pages keep Flask's error page."""
    if request.path.startswith("/api/"):
        return api.problem(error.code or 500, error.description or error.name)
    return error


def _unexpected_error(error: Exception) -> Response | HTTPException:
    """A failure no view expected: logged with its traceback (redacted), answered without it."""
    if isinstance(error, HTTPException):
        return _http_error(error)
    current_app.logger.error("%s %s failed: %s", request.method, request.path, redact(first_line(error)),
                             exc_info=error)
    if request.path.startswith("/api/"):
        return api.problem(500, "internal error; the console's log has the details")
    return InternalServerError()


MIN_KEY_CHARACTERS, MIN_DISTINCT_CHARACTERS = 32, 10


def session_key(variable: str) -> str:
    """The key signing session cookies, from the environment; refused when missing or guessable (anyone who
    knows it forges an admin's cookie). The message names the variable, never the value."""
    key = os.environ.get(variable, "")
    if len(key) < MIN_KEY_CHARACTERS or len(set(key)) < MIN_DISTINCT_CHARACTERS:
        raise ConfigError(variable, f"{'not set' if not key else 'too weak'}: it signs the console's session "
                                    f"cookies", "32 random bytes, e.g. the output of "
                                    "`python -c 'import secrets; print(secrets.token_hex(32))'`")
    return key


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":  # pages show data, and the tokens page a secret once: never cached
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- Sessions, roles, CSRF ----------------------------------------------------------------------------------

def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@pages.before_request
def _authenticate() -> Response | None:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent.encode(), session.get("csrf", "").encode()):
            abort(400, "this form's CSRF token is missing or out of date: reload the page and send it again")
    g.user = None
    if session.get("sid"):  # checked on the server each time: an ended session's cookie is worth nothing
        with state_db(write=False) as db:
            g.user = accounts.session_user(db, session["sid"], console().session_hours)
    if g.user is None and request.endpoint not in ("pages.login", "static"):
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    return None


def requires(role: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not g.user.can(role):
                abort(403, f"this needs the {role} role; you are {g.user.role}")
            return view(*args, **kwargs)
        return checked
    return decorate


@pages.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        settings = console()
        try:
            user = accounts.authenticate(request.form.get("email", ""), request.form.get("password", ""),
                                         request.remote_addr or "unknown", max_failures=settings.login_max_failures,
                                         lockout_minutes=settings.login_lockout_minutes)
        except LoginRefused as refused:
            error, user = str(refused), None
        if user is not None:
            session.clear()  # a new session (and CSRF token) after log-in: no fixation
            with state_db() as db:
                session_id = accounts.start_session(db, user, settings.session_hours)
            session.update(sid=session_id, csrf=secrets.token_urlsafe(32))
            session.permanent = True
            return redirect(local_path(request.args.get("next", "")) or url_for("pages.subscription_list"))
    return render_template("login.html", error=error), 401 if error else 200


def local_path(target: str) -> str | None:
    """`target` when it is a path on this site, else None: a log-in never sends anyone elsewhere (browsers drop
    tabs and newlines from URLs and read a backslash as a slash, so those count as what they become)."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", target).replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return None
    return cleaned


@pages.route("/logout", methods=["POST"])
def logout() -> Any:
    if session.get("sid"):
        with state_db() as db:
            accounts.end_session(db, session["sid"])
    session.clear()
    return redirect(url_for("pages.login"))


def last_deliveries(connection: Warehouse) -> dict[str, tuple]:
    try:
        return {row[0]: row[1:] for row in connection.query_file("delivery/last_deliveries.sql")}
    except Exception:  # no export delivered yet: the table may not exist
        return {}


# --- Subscriptions --------------------------------------------------------------------------------------------

def next_run(definition: ExportDefinition, today: dt.date) -> str:
    if definition.paused:
        return "paused"
    schedule = definition.schedule
    return f"{today if schedule.is_due(today) else schedule.next_run_date(today):%Y-%m-%d}"


FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 1, 1)


def parse_day(text: str) -> dt.date:
    """A date from a form or URL, within years the pipeline can mean; ValueError saying the form otherwise."""
    try:
        day = parse_typed("date", text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day < LAST_DAY:
        raise ValueError(f"{day} is outside {FIRST_DAY:%Y} to {LAST_DAY.year - 1}")
    return day


@pages.route("/")
def home() -> Any:
    return redirect(url_for("pages.subscription_list"))


@pages.route("/subscriptions")
def subscription_list() -> Any:
    defined, invalid = definitions_and_problems()
    with warehouse() as connection:
        delivered = last_deliveries(connection)
    today = dt.datetime.now(dt.UTC).date()
    rows = [{"definition": d, "next_run": next_run(d, today), "last": delivered.get(name)}
            for name, d in sorted(defined.items())]
    return render_template("subscriptions.html", rows=rows, invalid=invalid)


def _definition(name: str) -> ExportDefinition:
    found = definitions().get(name)
    if found is None:
        abort(404, f"no export or subscription named {name!r}")
    return found


@pages.route("/subscriptions/<name>")
def subscription(name: str) -> Any:
    definition = _definition(name)
    with warehouse() as connection:
        try:
            history = connection.query_file("delivery/history.sql", {"export_name": name})
        except Exception:
            history = []
    with state_db(write=False) as db:
        runs = db.query_file("runs.sql", {"subscription": name})
        stored = subscriptions.get(db, name)
    today = dt.datetime.now(dt.UTC).date()
    deliveries = [{"interval": Interval(row[0], row[1]), "status": row[2], "recipients": row[3], "rows": row[4],
                   "attached": row[5], "delivered_at": row[6], "refused": row[7]} for row in history]
    return render_template("subscription.html", d=definition, deliveries=deliveries, runs=runs,
                           next_run=next_run(definition, today), today=today,
                           interval=interval_for(definition.interval, today),
                           version=stored.updated_at if stored else "")


@pages.route("/subscriptions/<name>/files/<run_date>")
def delivered_file(name: str, run_date: str) -> Any:
    """The stored file of the interval a run date covers, streamed from the object store."""
    definition = _definition(name)
    try:
        interval = interval_for(definition.interval, parse_day(run_date))
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
        with state_db(write=False) as db:
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
        with warehouse() as connection:
            check_allowed(connection, template, template.parse_params(entry["params"]))
    except ParameterError as error:
        errors[f"params.{error.parameter}"] = error.problem
    return errors


def _form_page(templates: dict[str, Template], template: Template, entry: dict, errors: dict, creating: bool,
               status: int = 200, version: str = "") -> Any:
    with warehouse() as connection:
        choices = {param: allowed_values(connection, template, param) for param in template.parameters}
    return render_template("subscription_form.html", templates=templates, template=template, entry=entry,
                           errors=errors, creating=creating, choices=choices, intervals=INTERVALS,
                           version=version), status


@pages.route("/subscriptions/new", methods=["GET", "POST"])
@requires("editor")
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
        with state_db() as db:
            subscriptions.insert(db, entry, g.user.email, accounts.now_text())
            accounts.record(db, g.user.email, "subscription created", name, None, entry)
    except (sqlite3.IntegrityError, psycopg.IntegrityError):  # created by someone else a moment ago
        return _form_page(templates, template, entry, {"name": f"{name!r} is taken by another export"},
                          creating=True, status=400)
    flash(f"Subscription {name} created.")
    return redirect(url_for("pages.subscription", name=name))


def _console_subscription(name: str) -> subscriptions.Subscription:
    with state_db() as db:
        found = subscriptions.get(db, name)
    if found is None:
        abort(404 if name not in definitions() else 403,
              f"{name} is defined in exports.yml: change it there (it is code, reviewed in git)")
    return found


@pages.route("/subscriptions/<name>/edit", methods=["GET", "POST"])
@requires("editor")
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
    return redirect(url_for("pages.subscription", name=name))


def audience(entry: dict) -> tuple:
    """Whose rows a subscription sends, and to whom."""
    return ((entry.get("params") or {}).get(CLIENT_PARAM), sorted(entry.get("recipients") or []),
            sorted(entry.get("cc") or []))


def _save(name: str, version: str, after: dict, action: str) -> None:
    """Store the subscription's new entry, unless it changed since the page that asks was shown (`version`, its
    updated_at then): a second editor's save never silently undoes the first one's."""
    with state_db() as db:
        current = subscriptions.get(db, name)
        if current is None or current.updated_at != version:
            abort(409, f"{name} was changed by someone else since this page was shown: reload it")
        subscriptions.update(db, after, accounts.now_text())
        accounts.record(db, g.user.email, action, name, current.entry, after)


@pages.route("/subscriptions/<name>/<any(pause, resume):action>", methods=["POST"])
@requires("editor")
def subscription_pause(name: str, action: str) -> Any:
    existing = _console_subscription(name)
    _save(name, request.form.get("version") or existing.updated_at, {**existing.entry, "paused": action == "pause"},
          f"subscription {action}d")
    flash(f"Subscription {name} {action}d.")
    return redirect(url_for("pages.subscription", name=name))


@pages.route("/subscriptions/<name>/<any(run, resend):action>", methods=["POST"])
@requires("editor")
def subscription_run(name: str, action: str) -> Any:
    definition = _definition(name)
    try:
        date = parse_day(request.form.get("date", ""))
    except ValueError as error:
        flash(f"Run date: {error}.", "error")
        return redirect(url_for("pages.subscription", name=name))
    interval = interval_for(definition.interval, date)
    try:
        start_run(g.user.email, action, definition.name, date)
    except RunRefused as refused:
        flash(f"Not started: {refused}.", "error")
        return redirect(url_for("pages.subscription", name=name))
    flash(f"{'Run' if action == 'run' else 'Resend'} of {name} for {interval} started: it shows below when done.")
    return redirect(url_for("pages.subscription", name=name))


# --- Preview and downloads ------------------------------------------------------------------------------------

def _preview_request(templates: dict[str, Template], complete: bool
                     ) -> tuple[Template, dict[str, Any], Interval, dict[str, str]]:
    """The template, parameters and interval a preview asks for, and what is wrong with them, by field; a
    missing parameter counts only when the request must be `complete` (a first visit has none yet)."""
    template = templates.get(request.args.get("template", "")) or next(iter(templates.values()))
    errors: dict[str, str] = {}
    today = dt.datetime.now(dt.UTC).date()
    default = interval_for("previous_week", today)
    dates = {}
    for field, fallback in (("start", default.start), ("end", default.end)):
        try:
            dates[field] = parse_day(request.args[field]) if request.args.get(field) else fallback
        except ValueError as error:
            errors[field] = str(error)
            dates[field] = fallback
    if dates["end"] <= dates["start"]:
        errors["end"] = "must be after the start (it is exclusive)"
    elif (dates["end"] - dates["start"]).days > console().api_max_days:  # the API's cap: one query, one year
        errors["end"] = f"at most {console().api_max_days} days after the start"
    params = {}
    for name, parameter in template.parameters.items():
        raw = request.args.get(f"param_{name}", "")
        try:
            params[name] = parameter.parse(raw)
        except ParameterError as error:
            if raw or complete:
                errors[f"params.{name}"] = error.problem
    return template, params, Interval(dates["start"], dates["end"]), errors


def preview_query(template: Template, params: dict[str, Any], interval: Interval) -> dict[str, str]:
    """The query string of a preview (and of its downloads): only the fields the preview reads."""
    return {"template": template.name, "start": f"{interval.start}", "end": f"{interval.end}", "run": "1",
            **{f"param_{name}": f"{value}" for name, value in params.items()}}


@pages.route("/preview")
def preview() -> Any:
    templates = load_templates()
    template, params, interval, errors = _preview_request(templates, complete="run" in request.args)
    columns, rows, more = [], [], False
    with warehouse() as connection:
        choices = {param: allowed_values(connection, template, param) for param in template.parameters}
        if "run" in request.args and not errors:
            try:
                check_allowed(connection, template, params)
            except ParameterError as error:
                errors[f"params.{error.parameter}"] = error.problem
            else:
                limit = console().preview_rows
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


@pages.route("/preview/download.<any(csv, xlsx):file_format>")
def preview_download(file_format: str) -> Any:
    templates = load_templates()
    template, params, interval, errors = _preview_request(templates, complete=True)
    if errors:
        abort(400, "; ".join(f"{field}: {problem}" for field, problem in errors.items()))
    with warehouse() as connection:
        try:
            check_allowed(connection, template, params)
        except ParameterError as error:
            abort(400, str(error))
    with state_db() as db:
        accounts.record(db, g.user.email, "preview downloaded", template.name, None,
                        {"params": params, "start": interval.start, "end": interval.end, "format": file_format})
    filename = f"{template.name}_{interval.label}.{file_format}"
    return report_response(template, params, interval, file_format, f"user:{g.user.email}", filename)


# --- Audit log, users, tokens ---------------------------------------------------------------------------------

@pages.route("/audit")
def audit() -> Any:
    with state_db(write=False) as db:
        events = db.query_file("audit.sql")
    return render_template("audit.html", events=events)


@pages.route("/users", methods=["GET", "POST"])
@requires("admin")
def users() -> Any:
    """Add a user (the form below the table), or change one (its row: role, disabled, a new password)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        adding = request.form.get("action") == "add"
        email = request.form.get("email", "")
        try:
            with state_db() as db:
                accounts.save_user(db, g.user.email, email, request.form.get("role", ""),
                                   request.form.get("password") or None,
                                   disabled=request.form.get("disabled") == "on", create_only=adding)
            flash(f"User {email.strip().lower()} {'added' if adding else 'changed'}.")
            return redirect(url_for("pages.users"))
        except AccountError as error:
            errors[error.field if adding else f"{email}.{error.field}"] = str(error)
    with state_db(write=False) as db:
        everyone = db.query_file("users.sql")
    return render_template("users.html", users=everyone, errors=errors, form=request.form), 400 if errors else 200


@pages.route("/tokens", methods=["GET", "POST"])
@requires("admin")
def tokens() -> Any:
    errors: dict[str, str] = {}
    created = None
    if request.method == "POST" and request.form.get("revoke"):
        with state_db() as db:
            accounts.revoke_token(db, g.user.email, request.form["revoke"])
        flash(f"Token {request.form['revoke']} revoked.")
        return redirect(url_for("pages.tokens"))
    if request.method == "POST":
        try:
            with state_db() as db:
                created = accounts.create_token(db, g.user.email, request.form.get("client_id", ""),
                                                request.form.get("name", ""), known=known_clients())
        except AccountError as error:
            errors[error.field] = str(error)
    with state_db(write=False) as db:
        listed, calls = db.query_file("tokens.sql"), db.query_file("api_calls.sql")
    return render_template("tokens.html", tokens=listed, calls=calls, created=created, errors=errors,
                           clients=known_clients()), 400 if errors else 200

