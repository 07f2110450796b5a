"""Secrets never leave the process: one redaction for every message, log record, traceback and alert.

Two layers: URL syntax (any `scheme://user:password@`, and query parameters such as `password=`,
`sslpassword=`), and the secret values this process was given (the passwords of the PIPELINE_* URLs however
they are written, percent-decoded too, and the secret environment variables), replaced wherever they appear."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote, urlsplit

import luigi.configuration

MASK = "***"
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PIPELINE_SMTP_PASSWORD", "PIPELINE_SLACK_TOKEN",
              "PIPELINE_SLACK_WEBHOOK_URL", "PIPELINE_CONSOLE_SECRET_KEY")
# Settings that name more secret variables ([mail_server] password_env, [alerts] slack_webhook_env, ...).
SECRET_ENV_SETTINGS = (("mail_server", "password_env"), ("alerts", "slack_webhook_env"), ("alerts", "slack_token_env"),
                       ("console", "secret_key_env"))
URL_SETTINGS = ("PIPELINE_WAREHOUSE_URL", "PIPELINE_SOURCES", "PIPELINE_TASK_HISTORY_URL", "PIPELINE_CONSOLE_DB_URL")
_SECRET_NAMES = r"(?:ssl)?(?:password|passwd|pwd|secret|token|key|access_?key\w*)"
SECRET_PARAMETER = re.compile(rf"(?i)^{_SECRET_NAMES}$")
# The userinfo runs to the last @ of the token: a password may hold unescaped @ (not whitespace, a case only
# the values of the second layer cover).
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>\S*)@")
_QUERY_SECRET = re.compile(rf"(?i)(?P<name>[?&;]{_SECRET_NAMES}=)(?P<value>[^&;\s'\"]*)")
# Between the region=uri pairs of PIPELINE_SOURCES: a comma before `region=` (a replica set's hosts have commas).
PAIR_SEPARATOR = re.compile(r",(?=\s*[a-z][a-z0-9_]{0,30}=)")
SHORTEST_SECRET = 4  # shorter values would mask ordinary words; such a password is not worth keeping secret


def redact_text(text: str) -> str:
    """URL passwords and secret query parameters in free text replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@" if m["password"] else m[0], text)
    return _QUERY_SECRET.sub(lambda m: m["name"] + MASK if m["value"] else m[0], text)


def url_secrets(url: str) -> set[str]:
    """The password and secret query values of one URL, as written and percent-decoded."""
    try:
        parts = urlsplit(url.strip())
        found = {parts.password or ""}
        found |= {value for name, value in parse_qsl(parts.query) if SECRET_PARAMETER.match(name)}
    except ValueError:  # unparsable: the syntax layer still applies
        return set()
    found |= {quote_free for quote_free in (unquote(value) for value in found)}
    return {value for value in found if value}


def secret_variables() -> set[str]:
    """The environment variables that hold secrets: the usual ones and those the settings name."""
    config = luigi.configuration.get_config()
    return {*SECRET_ENV, *(config.get(section, option, "") for section, option in SECRET_ENV_SETTINGS)} - {""}


def secrets_in_environment() -> set[str]:
    """Every secret value this process holds in its environment."""
    found = {os.environ.get(name, "") for name in secret_variables()}
    for name in URL_SETTINGS:
        value = os.environ.get(name, "")
        for url in (p.partition("=")[2] if name == "PIPELINE_SOURCES" else p for p in PAIR_SEPARATOR.split(value)):
            found |= url_secrets(url)
    return {value for value in found if len(value) >= SHORTEST_SECRET}


def redact(text: str) -> str:
    """The text with every known secret and URL password replaced by ***."""
    for secret in sorted(secrets_in_environment(), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return redact_text(text)


def redact_url(url: str) -> str:
    """One URL, safe to show: its password and secret query values replaced by ***."""
    for secret in sorted((s for s in url_secrets(url) if len(s) >= SHORTEST_SECRET), key=len, reverse=True):
        url = url.replace(secret, MASK)
    return redact_text(url)  # shorter ones: their places in the URL


class _RedactingRecords:
    """A log record factory that redacts each record's message and traceback as it is made, so that no
    handler (Luigi's own included) ever sees a secret."""

    def __init__(self, make: Callable[..., logging.LogRecord]):
        self.make = make

    def __call__(self, *args, **kwargs) -> logging.LogRecord:
        record = self.make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: keep what it was
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record


def redact_logs() -> None:
    """Redact every log record of this process (and of the worker processes it forks) from now on."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecords):
        logging.setLogRecordFactory(_RedactingRecords(factory))
