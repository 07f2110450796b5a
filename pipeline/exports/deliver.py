"""E-mail an export: attached when small, else a time-limited link; one fixed Message-ID per interval."""

from __future__ import annotations

import os
import smtplib
import ssl
import string
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import luigi

from pipeline.config import ConfigError
from pipeline.exports.definitions import ExportDefinition
from pipeline.exports.schedule import Interval

CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class smtp(luigi.Config):
    """Outgoing mail for exports (the password comes from the environment, never from a file)."""

    host = luigi.Parameter(default="127.0.0.1", description="SMTP server host")
    port = luigi.IntParameter(default=25, description="SMTP server port")
    security = luigi.ChoiceParameter(choices=["none", "starttls", "ssl"], default="none",
                                     description="none, starttls (port 587) or ssl (port 465)")
    user = luigi.Parameter(default="", description="login user; empty for no login")
    password_env = luigi.Parameter(default="PIPELINE_SMTP_PASSWORD",
                                   description="environment variable that holds the login password")
    sender = luigi.Parameter(default="analytics@localhost", description="From: address")
    timeout_seconds = luigi.IntParameter(default=30, description="socket timeout")


@dataclass(frozen=True)
class Rendered:
    """A rendered export file: where it is and what it holds."""

    path: str  # relative to the object store
    url: str
    rows: int
    bytes: int
    columns: tuple[str, ...]


def message_id(definition: ExportDefinition, interval: Interval, sender: str) -> str:
    """The same for every attempt at one (export, interval): a resend after a lost acknowledgement is
    recognisable as a duplicate by mail clients and by us."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<export.{definition.name}.{interval.label}@{domain}>"


def build_message(definition: ExportDefinition, interval: Interval, rendered: Rendered, sender: str,
                  attachment: bytes | None, link: str | None) -> EmailMessage:
    """The e-mail for one export run: the file attached, or (too large) a link to it."""
    filename = f"{definition.name}_{rendered.path.rsplit('/', 1)[-1]}"
    values = {
        "name": definition.name, "description": definition.description, "start": f"{interval.start:%Y-%m-%d}",
        "end": f"{interval.end:%Y-%m-%d}", "interval": str(interval), "rows": f"{rendered.rows:,}",
        "format": definition.format.upper(),
        "file": f"attached as {filename}." if attachment is not None
        else f"too large to attach ({rendered.bytes / 2**20:.1f} MiB); download it from this time-limited "
             f"link:\n\n{link}\n",
        "link": link or "",
    }
    message = EmailMessage()
    message["Subject"] = string.Template(definition.subject).safe_substitute(values)
    message["From"] = sender
    message["To"] = ", ".join(definition.recipients)
    if definition.cc:
        message["Cc"] = ", ".join(definition.cc)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(definition, interval, sender)
    message.set_content(string.Template(definition.body).safe_substitute(values))
    if attachment is not None:
        maintype, subtype = CONTENT_TYPES[definition.format].split("/")
        message.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(message: EmailMessage, settings: smtp | None = None) -> None:
    """Hand the message to the SMTP server. Raises only while the message is not yet accepted: a failing
    QUIT after the server took it is ignored, so a retry never sends the same message twice."""
    settings = settings or smtp()
    password = os.environ.get(settings.password_env, "")
    if settings.user and not password:
        raise ConfigError(settings.password_env, f"[smtp] user is set but {settings.password_env} is empty")
    context = ssl.create_default_context()
    if settings.security == "ssl":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.user:
            client.login(settings.user, password)
        client.send_message(message)
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()  # accepted already, or failed already: either way nothing to add
