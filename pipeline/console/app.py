"""The console's Flask app: `create_app(settings)` wires the blueprints (auth, subscriptions, preview, admin,
the data API), the session cookie, the security headers and the error pages. Server-rendered (Jinja2 escapes
every value); a form posts a CSRF token from the session; roles: viewer < editor < admin."""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from pipeline.config import ConfigError, ConsoleSettings, console_db_url
from pipeline.console import accounts, api, web
from pipeline.console.reports import TooManyStreams
from pipeline.console.views import admin, auth, preview, subscriptions
from pipeline.errors import first_line
from pipeline.secrets import redact
from pipeline.statedb import StateUnavailable


def create_app(settings: ConsoleSettings | None = None, state_url: str | None = None) -> Flask:
    """The console over `settings` ([console] by default) and the console database at `state_url`
    (PIPELINE_CONSOLE_DB_URL or [console] db_url by default)."""
    settings = settings or ConsoleSettings()
    app = Flask(__name__)
    app.secret_key = session_key(settings.secret_key_env)
    app.config.update(
        CONSOLE=settings, STATE_URL=state_url or console_db_url(),
        SESSION_COOKIE_NAME="pipeline_console", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies, MAX_CONTENT_LENGTH=1 << 20,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours))
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    for blueprint in (auth.blueprint, subscriptions.blueprint, preview.blueprint, admin.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(api.blueprint, url_prefix="/api/v1")
    app.before_request(auth.require_login)
    app.teardown_appcontext(web.close_connections)
    app.after_request(_security_headers)
    app.register_error_handler(TooManyStreams, lambda busy: TooManyRequests(str(busy)))
    app.register_error_handler(StateUnavailable, lambda error: _http_error(ServiceUnavailable(
        f"the console's database is unavailable ({error}); try again in a minute")))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.globals.update(csrf_token=auth.csrf_token, ROLES=accounts.ROLES)
    app.jinja_env.filters["when"] = lambda text: text[:19].replace("T", " ") if text else ""
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
