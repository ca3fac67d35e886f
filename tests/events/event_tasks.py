"""Task functions of the events tests, copied into each test project as ``event_tasks.py``."""

from __future__ import annotations

from pathlib import Path


def flaky(path: str, failures: int) -> str:
    """Fail ``failures`` times (counted in the file at ``path``), then succeed."""
    counter = Path(path)
    runs = len(counter.read_text().splitlines()) if counter.exists() else 0
    with counter.open("a") as fh:
        fh.write("run\n")
    if runs < failures:
        raise RuntimeError(f"flaky failure {runs + 1}")
    return "ok"


def noop() -> None:
    return None
