"""Outgoing e-mail through the [mail_server] server: export deliveries and alerts."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage

from pipeline.config import ConfigError, MailServerSettings


def is_transient(error: BaseException) -> bool:
    """A dropped connection or a 4xx reply ("try again later"); a 5xx reply is a refusal for good."""
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and 400 <= error.smtp_code < 500


def describe_failure(error: BaseException, settings: MailServerSettings | None = None) -> str:
    """Why a message did not reach the mail server, in plain words naming the server and the setting to check
    (never the password)."""
    settings = settings or MailServerSettings()
    server = f"the mail server {settings.host}:{settings.port}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (f"{server} refused the log-in of [mail_server] user {settings.user!r} (its password is in "
                f"{settings.password_env})")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"{server} refused every recipient: {', '.join(sorted(error.recipients))}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{server} answered {error.smtp_code} {reply}".strip()
    if isinstance(error, ssl.SSLError):
        why = getattr(error, "reason", None) or error
        return f"TLS with {server} failed ([mail_server] security = {settings.security}): {why}"
    if isinstance(error, TimeoutError):
        return f"{server} did not answer within {settings.timeout_seconds} s ([mail_server] timeout_seconds)"
    if isinstance(error, ConnectionRefusedError):
        return f"{server} refused the connection: is it running, and are [mail_server] host and port right?"
    if isinstance(error, OSError):
        return f"could not reach {server} ([mail_server] host and port): {error.strerror or error}"
    return f"sending through {server} failed: {type(error).__name__}: {error}"


def send(message: EmailMessage, settings: MailServerSettings | None = None, to: list[str] | None = None
         ) -> dict[str, str]:
    """Hand the message to the SMTP server (to its To and Cc, or to `to`); return the recipients it refused
    with its reply, when it accepted the others. Raises only while the message is not yet accepted (all
    refused included): a failing QUIT after the server took it is ignored, so a retry never sends twice."""
    settings = settings or MailServerSettings()
    password = os.environ.get(settings.password_env, "")
    if settings.user and not password:
        raise ConfigError(settings.password_env, f"[mail_server] user is set but {settings.password_env} is empty")
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
        refused = client.send_message(message, to_addrs=to)
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()  # accepted already, or failed already: either way nothing to add
    return {address: f"{code} {reply.decode(errors='replace')}" for address, (code, reply) in refused.items()}
