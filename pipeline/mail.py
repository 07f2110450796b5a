"""Outgoing e-mail through the [mail_server] server: export deliveries and alerts."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage

from pipeline.config import ConfigError, mail_server


def is_transient(error: BaseException) -> bool:
    """A dropped connection or a 4xx reply ("try again later"); a 5xx reply is a refusal for good."""
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and 400 <= error.smtp_code < 500


def send(message: EmailMessage, settings: mail_server | None = None, to: list[str] | None = None) -> dict[str, str]:
    """Hand the message to the SMTP server (to its To and Cc, or to `to`); return the recipients it refused
    with its reply, when it accepted the others. Raises only while the message is not yet accepted (all
    refused included): a failing QUIT after the server took it is ignored, so a retry never sends twice."""
    settings = settings or mail_server()
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
