"""Task functions for tests. Copied into each test project folder as ``sample_tasks.py``.

Functions record what they did by appending a line to a file, so a test can
assert what ran (and how often) across processes.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def add(a: int, b: int) -> int:
    return a + b


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


def record(path: str, value: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Append one JSON line {value, args, kwargs, pid, time} to ``path``."""
    line = json.dumps(
        {
            "value": value,
            "args": list(args),
            "kwargs": kwargs,
            "pid": os.getpid(),
            "time": time.time(),
        }
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return value


def sleep_and_record(path: str, value: Any, seconds: float) -> Any:
    time.sleep(seconds)
    return record(path, value)


def fail(message: str = "boom") -> None:
    raise RuntimeError(message)


async def not_plain() -> None:
    return None


NOT_CALLABLE = 42
