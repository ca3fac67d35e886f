"""Helpers of the delivery tests: a jobs.yaml per backend, waiting for recorded values."""

from __future__ import annotations

import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from tests.integration.helpers import values

SECRET = "delivery-test-secret"


def backend_lines(backend: str, request: pytest.FixtureRequest) -> str:
    """The instance keys for ``backend``: a private server, a queue of this test's own."""
    if backend == "sqlite":
        return "backend: sqlite\nfilename: queue.db"
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        return f"backend: redis\nurl: {url}\nserializer: {{secret: {SECRET}}}"
    if backend == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        return (
            f"backend: postgres\ndsn: {dsn}\nname: q{uuid.uuid4().hex[:10]}\n"
            f"serializer: {{secret: {SECRET}}}"
        )
    raise ValueError(backend)


def jobs_yaml(instance: str, *, consumer: str = "", tasks: str = "") -> str:
    """A jobs.yaml with one instance ``default`` (lease 2 s) and the sample tasks."""
    body = textwrap.indent(instance, "    ")
    consumer_lines = textwrap.indent(consumer, "      ")
    return (
        "version: 1\n"
        "instances:\n"
        "  default:\n"
        f"{body}\n"
        "    lease: 2s\n"
        "    consumer:\n"
        "      workers: 4\n"
        "      periodic: false\n"
        f"{consumer_lines}\n"
        "tasks:\n"
        "  sleepy:\n"
        "    function: sample_tasks:sleep_and_record\n"
        "  record:\n"
        "    function: sample_tasks:record\n"
        f"{tasks}"
    )


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def wait_for_all(path: Path, expected: Iterable[object], timeout: float) -> Counter[object]:
    """Wait until every value of ``expected`` is recorded in ``path``; count each."""
    wanted = set(expected)

    def done() -> bool:
        return wanted <= set(values(path))

    try:
        wait_until(done, timeout, "every task recording its value")
    except AssertionError:
        missing = sorted(wanted - set(values(path)), key=str)
        raise AssertionError(f"{len(missing)} value(s) never recorded: {missing[:20]}") from None
    return Counter(values(path))
