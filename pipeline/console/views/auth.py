"""Log-in and log-out, the session check before every page, and the CSRF token of forms."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, redirect, render_template, request, session, url_for

from pipeline.console import accounts, web
from pipeline.console.accounts import LoginRefused

blueprint = Blueprint("auth", __name__)
OPEN_ENDPOINTS = ("auth.login", "static")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def require_login() -> Response | None:
    """Before every page (the API has its tokens): a posted form carries the session's CSRF token, and the
    session is live on the server (an ended session's cookie is worth nothing)."""
    if request.blueprint == "api" or request.endpoint is None:  # tokens; or no such page (404)
        return None
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent.encode(), session.get("csrf", "").encode()):
            abort(400, "this form's CSRF token is missing or out of date: reload the page and send it again")
    g.user = None
    if session.get("sid"):
        with web.state().transaction(write=False) as db:
            g.user = accounts.session_user(db, session["sid"], web.settings().session_hours)
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
    return None


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        settings = web.settings()
        try:
            user = accounts.authenticate(web.state(), request.form.get("email", ""), request.form.get("password", ""),
                                         request.remote_addr or "unknown", max_failures=settings.login_max_failures,
                                         lockout_minutes=settings.login_lockout_minutes)
        except LoginRefused as refused:
            error, user = str(refused), None
        if user is not None:
            session.clear()  # a new session (and CSRF token) after log-in: no fixation
            with web.state().transaction() as db:
                session_id = accounts.start_session(db, user, settings.session_hours)
            session.update(sid=session_id, csrf=secrets.token_urlsafe(32))
            session.permanent = True
            return redirect(local_path(request.args.get("next", "")) or url_for("subscriptions.subscription_list"))
    return render_template("login.html", error=error, email=request.form.get("email", "")), 401 if error else 200


def local_path(target: str) -> str | None:
    """`target` when it is a path on this site, else None: a log-in never sends anyone elsewhere (browsers drop
    tabs and newlines from URLs and read a backslash as a slash, so those count as what they become)."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", target).replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return None
    return cleaned


@blueprint.route("/logout", methods=["POST"])
def logout() -> Any:
    if session.get("sid"):
        with web.state().transaction() as db:
            accounts.end_session(db, session["sid"])
    session.clear()
    return redirect(url_for("auth.login"))
