"""The task functions both sides run: plain huey registers them with ``huey.task()``,
jobrunner names them in a generated ``jobs.yaml``."""

from __future__ import annotations


def noop() -> None:
    """Does nothing: drain and enqueue measure the queue, not the work."""


def ping() -> int:
    """Returns a value, so a result is stored and ``Result.get()`` has something to wait for."""
    return 1
