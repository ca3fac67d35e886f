"""Every backend builds from jobs.yaml and round-trips a task through a real consumer.

The producer is this test process (``jobrunner.load``); the consumer is a real
``jobrunner run`` subprocess, except for the memory backend (see
``test_memory_round_trip``).
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobrunner
from jobrunner.runtime._consumer import make_consumer
from tests.integration.helpers import records, wait_for_records
from tests.support.processes import Runner

TASKS = """
tasks:
  add:
    function: sample_tasks:add
  rec:
    function: sample_tasks:record
"""

SECRET = "serializer: {secret: integration-test-secret}"


def _backend_lines(backend: str, project: Path, request: pytest.FixtureRequest) -> str:
    """The instance keys of ``backend``, with a private server or folder for this test."""
    if backend == "sqlite":
        return "backend: sqlite\nfilename: queue.db"
    if backend == "file":
        return "backend: file\npath: queue-files"
    if backend in ("redis", "redis-expire", "priority-redis"):
        url = request.getfixturevalue("redis_url")
        extra = "\nexpire_time: 60" if backend == "redis-expire" else ""
        # A short blocking read keeps the consumer's shutdown quick.
        return f"backend: {backend}\nurl: {url}\nread_timeout: 0.2\n{SECRET}{extra}"
    if backend == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        # The database lives for the session: a queue of its own keeps tests apart.
        return (
            f"backend: postgres\ndsn: {dsn}\nname: q{uuid.uuid4().hex[:8]}\n"
            f"read_timeout: 0.2\n{SECRET}"
        )
    if backend == "custom":
        (project / "journal_storage.py").write_text(CUSTOM_STORAGE)
        return textwrap.dedent(f"""\
            backend: custom
            storage_class: journal_storage:JournalStorage
            options: {{filename: {project / "custom.db"}, journal: {project / "journal.txt"}}}""")
    raise AssertionError(backend)


CUSTOM_STORAGE = '''
from __future__ import annotations

import os

from huey.storage import SqliteStorage


class JournalStorage(SqliteStorage):
    """SQLite storage that notes which process stored each result."""

    def __init__(self, name="huey", journal=None, **kwargs):
        super().__init__(name, **kwargs)
        self.journal = journal

    def put_data(self, key, value, is_result=False):
        if is_result and self.journal:
            with open(self.journal, "a") as fh:
                fh.write(f"{os.getpid()}\\n")
        return super().put_data(key, value, is_result)
'''


@pytest.fixture
def backend_config(project: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Path]]:
    """Write a jobs.yaml with one instance ``main`` on the given backend."""

    def write(backend: str, tasks: str = TASKS, workers: int = 2) -> Path:
        lines = _backend_lines(backend, project, request)
        body = textwrap.indent(f"{lines}\nconsumer: {{workers: {workers}}}", " " * 4)
        path = project / "jobs.yaml"
        path.write_text(f"version: 1\ninstances:\n  main:\n{body}\n{textwrap.dedent(tasks)}")
        return path

    yield write
    sys.modules.pop("journal_storage", None)  # the next test writes its own


@pytest.mark.parametrize(
    "backend",
    ["sqlite", "file", "redis", "redis-expire", "priority-redis", "postgres", "custom"],
)
def test_round_trip_through_a_consumer_subprocess(
    backend: str, backend_config: Callable[..., Path], project: Path
) -> None:
    config = backend_config(backend)
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        with jobrunner.load(config) as app:
            assert app.tasks.add(2, 3).get(blocking=True, timeout=60) == 5
            assert app.tasks.rec(str(out), "hi", 1, k="v").get(blocking=True, timeout=60) == "hi"
        assert runner.stop(signal.SIGINT) == 0
    [record] = records(out)
    assert record["args"] == [1]
    assert record["kwargs"] == {"k": "v"}
    # The consumer subprocess ran it, not this process.
    assert record["pid"] == runner.process.pid != os.getpid()
    if backend == "custom":
        # The consumer stored both results through the custom storage class.
        journal = (project / "journal.txt").read_text().split()
        assert journal == [str(runner.process.pid)] * 2


def test_priority_redis_runs_the_higher_priority_task_first(
    backend_config: Callable[..., Path], project: Path
) -> None:
    config = backend_config(
        "priority-redis",
        tasks="""
        tasks:
          low:
            function: sample_tasks:record
            priority: 1
          high:
            function: sample_tasks:record
            priority: 10
        """,
        workers=1,
    )
    out = project / "out.jsonl"
    # Both are queued before the only worker starts, so the order is the queue's alone.
    with jobrunner.load(config) as app:
        app.tasks.low(str(out), "low")
        app.tasks.high(str(out), "high")
        with Runner(config) as runner:
            wait_for_records(out, 2)
            assert runner.stop() == 0
    assert [r["value"] for r in records(out)] == ["high", "low"]


def test_memory_round_trip(write_config: Callable[..., Path]) -> None:
    # Memory storage lives in one process's heap, so a consumer subprocess could
    # never see what this process enqueued. huey's consumer (built as `jobrunner
    # run` builds it) runs here instead, its workers and scheduler on threads.
    config = write_config(
        "version: 1\ninstances:\n  main: {backend: memory, consumer: {workers: 2}}\n" + TASKS
    )
    with jobrunner.load(config) as app:
        consumer = make_consumer(app.huey("main"), app.config.instances["main"].consumer)
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        consumer.start()
        # start() installs its handlers in this (pytest's) process: put pytest's back.
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        try:
            assert app.tasks.add(20, 22).get(blocking=True, timeout=60) == 42
            assert app.tasks.rec(os.devnull, "ok").get(blocking=True, timeout=60) == "ok"
        finally:
            consumer.stop(graceful=True)
