"""Helpers of the integration tests: read what the sample tasks recorded, write task modules."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines ``sample_tasks.record`` appended to ``path`` (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_records(path: Path, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until ``path`` holds at least ``count`` records; return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records(path)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(
        f"{count} record(s) did not appear in {path} within {timeout}s: {records(path)}"
    )


def values(path: Path) -> list[Any]:
    """The ``value`` of each record in ``path``, in order."""
    return [r["value"] for r in records(path)]
