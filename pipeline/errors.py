"""How every layer words an exception for a person: its first line, secrets redacted."""

from __future__ import annotations

from pipeline.secrets import redact


def first_line(error: BaseException | str) -> str:
    """`Type: message` (or the text), only its first line, with any secret redacted."""
    text = error if isinstance(error, str) else (f"{type(error).__name__}: {error}" if str(error)
                                                 else type(error).__name__)
    return redact(text.strip().splitlines()[0] if text.strip() else text)
