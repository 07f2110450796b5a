"""How every layer words an exception for a person: its first line, secrets redacted."""

from __future__ import annotations

from pipeline.secrets import redact


def first_line(error: BaseException | str) -> str:
    """`Type: message` (or the text), only its first line, with any secret redacted."""
    text = error if isinstance(error, str) else (f"{type(error).__name__}: {error}" if str(error)
                                                 else type(error).__name__)
    return redact(text.strip().splitlines()[0] if text.strip() else text)


class Explained(RuntimeError):
    """A failure whose message is written for the person who ran the command (what is missing, since when,
    and the one command or click that fixes it): shown as it is, without the task's name or a traceback."""


def told(error: BaseException) -> str:
    """What a failure says to people: an Explained one's own words, else its first line."""
    return first_line(str(error)) if isinstance(error, Explained) else first_line(error)
