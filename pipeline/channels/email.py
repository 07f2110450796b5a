"""Alerts by e-mail to [alerts] email_to, through the [mail_server] server, from its sender."""

from __future__ import annotations

from email.message import EmailMessage

from pipeline.channels import Channel
from pipeline.config import AlertSettings, MailServerSettings
from pipeline.mail import send as send_message


def recipients() -> list[str]:
    return [address.strip() for address in AlertSettings().email_to.split(",") if address.strip()]


def target() -> str | None:
    found = recipients()
    return f"e-mail to {', '.join(found)}" if found else None


def send(subject: str, text: str) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = MailServerSettings().sender
    message["To"] = ", ".join(recipients())
    message.set_content(text)
    send_message(message)


CHANNEL = Channel("email", target, send, "[alerts] email_to")
