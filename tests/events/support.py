"""Helpers of the events tests."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

HERE = Path(__file__).parent
RUN_SEQUENCE = [
    "started",
    "error",
    "retrying",
    "started",
    "error",
    "retrying",
    "started",
    "complete",
]


def add_tasks(project: Path) -> None:
    shutil.copy(HERE / "event_tasks.py", project / "event_tasks.py")


def wait_until(check: Callable[[], T], timeout: float = 30, what: str = "condition") -> T:
    """``check()``'s first truthy answer, polled until ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")
