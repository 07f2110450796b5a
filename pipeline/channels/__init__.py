"""Alert channels: where the pipeline tells people that something failed or is late.

A channel is a module of this package with a `CHANNEL`, listed in `_channels()`; its settings are in [alerts].
The alerts (pipeline.alerts) go to every configured one; doctor lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    name: str  # as an alert reports it ("sent via slack")
    # where it would send, for doctor ("Slack webhook", "e-mail to ops@example.com"); None when not configured
    target: Callable[[], str | None]
    send: Callable[[str, str], None]  # (subject, text); raises when the channel refuses
    how_to_configure: str  # what an operator sets to turn it on


def _channels() -> tuple[Channel, ...]:
    from pipeline.channels import email, slack

    return (slack.CHANNEL, email.CHANNEL)


def configured() -> list[tuple[Channel, str]]:
    """(channel, where it sends) of each channel that is configured."""
    return [(channel, target) for channel in _channels() if (target := channel.target())]


def how_to_configure() -> str:
    """What an operator sets to turn a channel on, any of them."""
    return ", or ".join(channel.how_to_configure for channel in _channels())
