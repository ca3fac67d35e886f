"""Helpers of the endpoint tests: find the address a runner logged, fetch pages from it."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from jobrunner.runtime import Runner as InProcessRunner
from jobrunner.runtime import RunOptions
from tests.support.processes import Runner

# The runner's own line, so a path in some other line cannot match.
_ADDRESS = re.compile(r"INFO jobrunner\.http: http endpoint on (http://\S+) \(/metrics")


def endpoint_url(runner: Runner, timeout: float = 30) -> str:
    """The endpoint address ``runner`` logged at start."""
    output = runner.wait_for("INFO jobrunner.http: http endpoint on ", timeout=timeout)
    match = _ADDRESS.search(output)
    assert match, output
    return match.group(1)


def wait_until(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {what or condition}")
        time.sleep(0.1)


def get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=10)


@contextmanager
def in_process_runner(config: Path) -> Iterator[InProcessRunner]:
    """The real runner started in this process (so a test can reach into it), then stopped;
    the signal handlers it installs are put back."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    runner = InProcessRunner(str(config), RunOptions(reload=False))
    try:
        runner.start()
        yield runner
    finally:
        runner.stop()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def endpoint_config(
    write_config: Callable[..., Path],
    backend_lines: str,
    consumer: str,
    tasks: str,
) -> Path:
    """A jobs file with the endpoint on a free port and one instance ``main``.

    ``backend_lines``: the instance's storage keys (``tests.integration.test_backends``);
    ``consumer``: its ``consumer:`` flow mapping; ``tasks``: the ``tasks:`` entries, one a line.
    """
    lines = backend_lines.replace("\n", "\n    ")
    entries = "".join(f"  {line.strip()}\n" for line in tasks.strip().splitlines())
    return write_config(
        "version: 1\n"
        'http: {listen: "127.0.0.1:0"}\n'
        "instances:\n"
        "  main:\n"
        f"    {lines}\n"
        f"    consumer: {consumer}\n"
        f"tasks:\n{entries}"
    )
