"""The audit log (everyone), users and API tokens (admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from pipeline.console import accounts, web
from pipeline.console.accounts import AccountError
from pipeline.console.reports import known_clients

blueprint = Blueprint("admin", __name__)


AUDIT_PAGE = 50


@blueprint.route("/audit")
def audit() -> Any:
    """The audit log, a page at a time (?before=<an event's time> for older ones), each event's changes."""
    before = request.args.get("before", "")
    with web.state().transaction(write=False) as db:
        events = db.query_file("audit.sql", {"before": before, "page_size": AUDIT_PAGE})
    older = events[AUDIT_PAGE - 1]["at"] if len(events) > AUDIT_PAGE else None
    shown = [{**event, "changes": accounts.changes(event["before_value"], event["after_value"])}
             for event in events[:AUDIT_PAGE]]
    return render_template("audit.html", events=shown, older=older, newest=not before)


@blueprint.route("/users", methods=["GET", "POST"])
@web.requires("admin")
def users() -> Any:
    """Add a user (the form below the table), or change one (its row: role, disabled, a new password)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        adding = request.form.get("action") == "add"
        email = request.form.get("email", "")
        try:
            with web.state().transaction() as db:
                accounts.save_user(db, g.user.email, email, request.form.get("role", ""),
                                   request.form.get("password") or None,
                                   disabled=request.form.get("disabled") == "on", create_only=adding)
            flash(f"User {email.strip().lower()} {'added' if adding else 'changed'}.")
            return redirect(url_for("admin.users"))
        except AccountError as error:
            errors[error.field if adding else f"{email}.{error.field}"] = str(error)
    with web.state().transaction(write=False) as db:
        everyone = db.query_file("users.sql")
    return render_template("users.html", users=everyone, errors=errors, form=request.form), 400 if errors else 200


@blueprint.route("/tokens", methods=["GET", "POST"])
@web.requires("admin")
def tokens() -> Any:
    errors: dict[str, str] = {}
    created = None
    clients = known_clients(web.warehouse())
    if request.method == "POST" and request.form.get("revoke"):
        with web.state().transaction() as db:
            accounts.revoke_token(db, g.user.email, request.form["revoke"])
        flash(f"Token {request.form['revoke']} revoked.")
        return redirect(url_for("admin.tokens"))
    if request.method == "POST":
        try:
            with web.state().transaction() as db:
                created = accounts.create_token(db, g.user.email, request.form.get("client_id", ""),
                                                request.form.get("name", ""), known=clients)
        except AccountError as error:
            errors[error.field] = str(error)
    with web.state().transaction(write=False) as db:
        listed, calls = db.query_file("tokens.sql"), db.query_file("api_calls.sql")
    return render_template("tokens.html", tokens=listed, calls=calls, created=created, errors=errors,
                           clients=clients), 400 if errors else 200
