"""Secrets never leave through an event sink's error message (process-wide list)."""

from __future__ import annotations

from collections.abc import Iterable

_SECRETS: set[str] = set()


def add_secrets(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every text :func:`redact` is given from now on."""
    _SECRETS.update(s for s in secrets if s)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
