"""Alerts to Slack: an incoming webhook, or a bot token posting to [alerts] slack_channel."""

from __future__ import annotations

import os

from pipeline.channels import Channel
from pipeline.config import AlertSettings


def target() -> str | None:
    settings = AlertSettings()
    if os.environ.get(settings.slack_webhook_env):
        return "Slack webhook"
    if os.environ.get(settings.slack_token_env):
        return f"Slack {settings.slack_channel}"
    return None


def send(subject: str, text: str) -> None:
    """The webhook when its variable is set, else the bot token (the text carries the subject as its first line)."""
    settings = AlertSettings()
    webhook = os.environ.get(settings.slack_webhook_env)
    if webhook:
        from slack_sdk.webhook import WebhookClient

        response = WebhookClient(webhook, timeout=10).send(text=text)
        if response.status_code != 200:
            raise RuntimeError(f"Slack webhook answered {response.status_code}")
        return
    from slack_sdk import WebClient

    kwargs = {"base_url": settings.slack_base_url} if settings.slack_base_url else {}
    WebClient(token=os.environ[settings.slack_token_env], timeout=10, **kwargs).chat_postMessage(
        channel=settings.slack_channel, text=text)


CHANNEL = Channel("slack", target, send, "PIPELINE_SLACK_WEBHOOK_URL or PIPELINE_SLACK_TOKEN")
