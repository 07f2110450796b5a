"""Users, roles, log-in throttling, API tokens and the audit log of the console: functions over its database."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.exports.definitions import EMAIL
from pipeline.statedb import StateConnection, StateDB

ROLES = ("viewer", "editor", "admin")  # each can do what the one before can, and more
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "ap_"
_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
# Compared against when the e-mail is unknown, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A bad user or token request; `field` names the form field to show it beside."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class LoginRefused(Exception):
    """Wrong e-mail or password, a disabled user, or too many failures; the message is safe to show."""


@dataclass(frozen=True)
class User:
    email: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Token:
    token_id: str
    name: str
    client_id: str


def now_text(moment: dt.datetime | None = None) -> str:
    """UTC to the microsecond, as the console's database keeps times: ISO text of one width sorts as time (the
    audit log's order of two changes in one second included)."""
    return (moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(db: StateDB, actor: str, action: str, target: str, before: Any = None, after: Any = None) -> None:
    """One line of the audit log: who, when, what, and the object before and after."""
    db.run_file("record_audit.sql", {
        "event_id": uuid.uuid4().hex, "at": now_text(), "actor": actor, "action": action, "target": target,
        "before_value": None if before is None else json.dumps(before, sort_keys=True, default=str),
        "after_value": None if after is None else json.dumps(after, sort_keys=True, default=str)})


def changes(before: str | None, after: str | None) -> list[tuple[str, Any, Any]]:
    """What an audit event changed, field by field (nested fields as `params.client_id`): (field, before,
    after) for each field whose value differs; a creation lists every field with None before."""
    def flat(value: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(value, dict):
            return {name: leaf for key, item in value.items() for name, leaf in flat(item, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): value}

    def shown(value: Any) -> Any:  # as the files and forms write values: true/false, lists comma-separated
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "(none)"
        return value

    old, new = (flat(json.loads(text)) if text else {} for text in (before, after))
    return [(field, shown(old.get(field)), shown(new.get(field))) for field in sorted(old.keys() | new.keys())
            if old.get(field) != new.get(field)]


def check_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise AccountError("email", f"{email!r} is not an e-mail address")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("role", f"{role!r} is not one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"email": row["email"], "role": row["role"], "disabled": bool(row["disabled"])}


def save_user(db: StateDB, actor: str, email: str, role: str, password: str | None = None,
              disabled: bool = False, create_only: bool = False) -> bool:
    """Create the user, or change an existing one's role, password (when given) or disabled flag; audited.
    Returns whether the user is new; `create_only` refuses an existing one."""
    email, role = check_email(email), check_role(role)
    existing = db.query_file("user.sql", {"email": email})
    if existing and create_only:
        raise AccountError("email", f"{email} exists already: change it in the table above")
    if not existing and password is None:
        raise AccountError("password", "a new user needs a password")
    password_hash = _hasher.hash(check_password(password)) if password is not None else existing[0]["password_hash"]
    params = {"email": email, "role": role, "password_hash": password_hash, "disabled": int(disabled),
              "now": now_text()}
    after = {"email": email, "role": role, "disabled": disabled}
    if existing:
        db.run_file("update_user.sql", params)
        if password is not None or role != existing[0]["role"] or bool(disabled) != bool(existing[0]["disabled"]):
            db.run_file("end_user_sessions.sql", {"email": email})  # what the user could do changed: log in again
        record(db, actor, "user changed" + (" (new password)" if password is not None else ""), email,
               _public(existing[0]), after)
        return False
    db.run_file("insert_user.sql", params)
    record(db, actor, "user added", email, None, after)
    return True


def start_session(db: StateDB, user: User, hours: int) -> str:
    """A new session of the user; returns its id (the cookie holds it, signed)."""
    session_id, now = secrets.token_urlsafe(32), dt.datetime.now(dt.UTC)
    db.run_file("start_session.sql", {"session_id": session_id, "email": user.email, "now": now_text(now),
                                      "forget_before": now_text(now - dt.timedelta(hours=hours))})
    return session_id


def session_user(db: StateDB, session_id: str, hours: int) -> User | None:
    """The user of a live session: None once it was ended (log-out, a changed password or role, a disabled
    user) or is older than `hours`."""
    since = now_text(dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours))
    rows = db.query_file("session_user.sql", {"session_id": session_id, "since": since})
    return User(rows[0]["email"], rows[0]["role"]) if rows else None


def end_session(db: StateDB, session_id: str) -> None:
    db.run_file("end_session.sql", {"session_id": session_id})


def find_user(db: StateDB, email: str) -> User | None:
    rows = db.query_file("user.sql", {"email": email.strip().lower()})
    if not rows or rows[0]["disabled"]:
        return None
    return User(rows[0]["email"], rows[0]["role"])


def authenticate(connection: StateConnection, email: str, password: str, address: str, *, max_failures: int,
                 lockout_minutes: int) -> User:
    """The user whose password this is, or LoginRefused. After `max_failures` failures for the e-mail address
    or from the client address within `lockout_minutes`, every attempt is refused until they age out.

    Each attempt is recorded as a failure first, in a transaction of its own, and counted after: of attempts
    made at once, at most `max_failures` get to the password check (the last to count sees every earlier
    one). The check runs outside any transaction (argon2 takes a while on purpose); a success then takes its
    attempt back and clears the e-mail address's failures."""
    email = email.strip().lower()
    now = dt.datetime.now(dt.UTC)
    since = now_text(now - dt.timedelta(minutes=lockout_minutes))
    subjects = {"email_subject": f"email:{email}", "address_subject": f"address:{address}"}
    attempt = {**subjects, "now": now_text(now), "forget_before": since}
    with connection.transaction() as db:
        db.run_file("record_login_failure.sql", attempt)
    with connection.transaction(write=False) as db:
        for subject in subjects.values():
            (counted,) = db.query_file("count_login_failures.sql", {"subject": subject, "since": since})
            if counted["failures"] > max_failures:
                raise LoginRefused(f"too many failed log-ins; try again in {lockout_minutes} minutes")
        rows = db.query_file("user.sql", {"email": email})
    stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
    try:
        matched = _hasher.verify(stored, password) and bool(rows) and not rows[0]["disabled"]
    except (VerificationError, InvalidHashError):
        matched = False
    if not matched:
        raise LoginRefused("wrong e-mail address or password")
    with connection.transaction() as db:
        db.run_file("clear_login_failures.sql", attempt)
        if _hasher.check_needs_rehash(stored):  # the library's costs went up since it was hashed
            db.run_file("update_user.sql", {**rows[0], "password_hash": _hasher.hash(password), "now": now_text()})
        record(db, email, "logged in", email)
    return User(email, rows[0]["role"])


def _secret_hash(secret: str) -> str:
    # Tokens are 256 random bits: a plain digest cannot be brute-forced, and it keeps every API call cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(db: StateDB, actor: str, client_id: str, name: str, *, known: Collection[str]) -> str:
    """A new token bound to one of the `known` clients (the warehouse's); returns it (shown once, only its hash
    is kept). A mistyped client would get a token that reads nothing, silently."""
    client_id, name = client_id.strip(), name.strip() or f"{client_id.strip()} token"
    if not CLIENT_ID.match(client_id):
        raise AccountError("client_id", f"{client_id!r} is not a client id (letters, digits, _ . -; up to 64)"
                           if client_id else "missing")
    if client_id not in known:
        listed = ", ".join(sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
        raise AccountError("client_id", f"the warehouse has no client {client_id!r}" +
                           (f"; it knows {listed}" if known else "; it holds no client's data yet"))
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    db.run_file("insert_token.sql", {"token_id": token_id, "name": name, "client_id": client_id,
                                     "secret_hash": _secret_hash(secret), "created_by": actor, "now": now_text()})
    record(db, actor, "API token created", f"token {token_id}", None,
           {"token_id": token_id, "name": name, "client_id": client_id})
    return f"{TOKEN_PREFIX}{token_id}.{secret}"


def token_for(db: StateDB, presented: str) -> Token | None:
    """The live token presented (`ap_<id>.<secret>`), or None: unknown, wrong secret or revoked."""
    token_id, _, secret = presented.removeprefix(TOKEN_PREFIX).partition(".")
    if not presented.startswith(TOKEN_PREFIX) or not token_id or not secret:
        return None
    rows = db.query_file("token.sql", {"token_id": token_id})
    if not rows or rows[0]["revoked_at"] or not hmac.compare_digest(rows[0]["secret_hash"], _secret_hash(secret)):
        return None
    return Token(rows[0]["token_id"], rows[0]["name"], rows[0]["client_id"])


def revoke_token(db: StateDB, actor: str, token_id: str) -> None:
    if db.run_file("revoke_token.sql", {"token_id": token_id, "now": now_text()}):
        record(db, actor, "API token revoked", f"token {token_id}", {"revoked": False}, {"revoked": True})
