"""Example task functions used by the root jobs.yaml and the files in examples/."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("examples")


def count_beans(number: int) -> str:
    """Pretend to count beans; returns a sentence."""
    log.info("counting %s beans", number)
    return f"Counted {number} beans"


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def send_report(region: str, fmt: str = "pdf") -> str:
    """Pretend to build and send a report for a region."""
    log.info("sending the %s report for %s", fmt, region)
    return f"report {region}.{fmt} sent"


def heartbeat() -> float:
    """Log that the schedule fired; returns the time it ran."""
    now = time.time()
    log.info("heartbeat at %s", time.strftime("%H:%M:%S", time.gmtime(now)))
    return now


def backup() -> None:
    """Pretend to back up a database."""
    log.info("backing up")


def slow(seconds: float) -> float:
    """Sleep for a while (to watch graceful shutdown)."""
    time.sleep(seconds)
    return seconds
