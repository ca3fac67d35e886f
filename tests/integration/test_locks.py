"""``lock:`` and ``rate_limit:`` across two real consumers of 4 workers each, on SQLite,
Redis and PostgreSQL: runs of a locked task never overlap, a rate limit holds across
the fleet, and a lock left by a consumer killed mid-run frees itself when its ttl ends.
"""

from __future__ import annotations

import itertools
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobrunner
from tests.support.processes import Runner

TASKS = """
import json
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _note(name, **values):
    with open(os.path.join(HERE, name + ".jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"pid": os.getpid(), **values}) + "\\n")


def held(n):
    start = time.time()
    time.sleep(1)
    _note("held", n=n, start=start, end=time.time())


def limited(n):
    _note("limited", n=n, start=time.time())


def stuck():
    _note("stuck", start=time.time())
    time.sleep(60)


def after_crash():
    _note("after_crash", start=time.time())
"""

CONFIG = """
version: 1
instances:
  default:
    {backend}
    delivery: at_most_once
    consumer: {{workers: 4}}
tasks:
  held:
    function: guarded_tasks:held
    lock: {{name: one-at-a-time, ttl: 1m}}
    retries: 1000
    retry_delay: 0.1s
  limited:
    function: guarded_tasks:limited
    rate_limit: {{limit: 2, per: 1s}}
  stuck:
    function: guarded_tasks:stuck
    lock: {{name: crash, ttl: 3s}}
  after_crash:
    function: guarded_tasks:after_crash
    lock: crash
    retries: 1000
    retry_delay: 0.2s
"""

SECRET = "serializer: {secret: lock-test-secret}"


def _backend(backend: str, request: pytest.FixtureRequest) -> str:
    queue = f"q{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        return "backend: sqlite\n    filename: queue.db"
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        return (
            f"backend: redis\n    url: {url}\n    read_timeout: 0.2\n    name: {queue}\n"
            f"    {SECRET}"
        )
    dsn = request.getfixturevalue("postgres_dsn")
    return (
        f"backend: postgres\n    dsn: {dsn}\n    name: {queue}\n    read_timeout: 0.2\n    {SECRET}"
    )


def _records(project: Path, name: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    path = project / f"{name}.jsonl"
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if path.exists():
            found = [json.loads(line) for line in path.read_text().splitlines()]
            if len(found) >= count:
                return found
        time.sleep(0.05)
    raise AssertionError(f"{count} {name} run(s) did not happen in {timeout}s: {found}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"])
def test_locks_and_rate_limits_hold_across_two_consumers(
    backend: str,
    project: Path,
    write_config: Callable[..., Path],
    request: pytest.FixtureRequest,
) -> None:
    (project / "guarded_tasks.py").write_text(TASKS)
    config = write_config(CONFIG.format(backend=_backend(backend, request)))
    with Runner(config) as first, Runner(config) as second, jobrunner.load(config) as app:
        first.wait_for(" jobrunner: loaded ")
        second.wait_for(" jobrunner: loaded ")
        for n in range(6):
            app.tasks.held(n)
            app.tasks.limited(n)

        held = sorted(_records(project, "held", 6), key=lambda r: r["start"])
        assert sorted(r["n"] for r in held) == list(range(6))
        for before, after in itertools.pairwise(held):
            assert after["start"] >= before["end"], (before, after)
        output = first.output + second.output
        assert "not run, unable to acquire lock one-at-a-time" in output

        starts = sorted(r["start"] for r in _records(project, "limited", 6))
        # huey's windows are the whole seconds of the clock. A start is noted a moment after
        # its slot was taken (longer on a busy machine), so one noted in a window's first
        # quarter second may belong to the window before: those are not counted.
        per_window = Counter(int(t) for t in starts if t - int(t) >= 0.25)
        assert max(per_window.values(), default=0) <= 2, starts
        # 6 runs at 2 a window need 3 windows.
        assert starts[-1] - starts[0] > 1.0, starts
        assert 'rate-limited on "limited", retrying' in first.output + second.output

        # A consumer killed while its run holds a lock: the lock frees itself after its ttl.
        app.tasks.stuck()
        [stuck] = _records(project, "stuck", 1)
        owner, other = (first, second) if stuck["pid"] == first.process.pid else (second, first)
        owner.kill()
        app.tasks.after_crash()
        [after] = _records(project, "after_crash", 1)
        assert after["pid"] == other.process.pid
        # Not before the ttl (3 s) ends; stuck noted its start a moment after taking the lock.
        assert after["start"] >= stuck["start"] + 2.5
        assert "unable to acquire lock crash" in other.output
        assert other.stop(signal.SIGINT) == 0


INTERRUPTED = """
version: 1
instances:
  default:
    backend: sqlite
    filename: queue.db
    consumer: {workers: 2, flush_locks: true}
tasks:
  stuck:
    function: guarded_tasks:stuck
    lock: crash
  after_crash:
    function: guarded_tasks:after_crash
    lock: crash
"""


@pytest.mark.slow
def test_flush_locks_clears_at_start_and_an_interrupted_run_releases_its_lock(
    project: Path, write_config: Callable[..., Path]
) -> None:
    (project / "guarded_tasks.py").write_text(TASKS)
    config = write_config(INTERRUPTED)
    with jobrunner.load(config) as app:
        # A lock left behind (no ttl): only flush_locks frees it.
        app.huey().lock_task("crash").acquire()
        with Runner(config) as runner:
            runner.wait_for("INFO jobrunner: loaded ")
            app.tasks.after_crash()
            _records(project, "after_crash", 1)
            assert "Found stale locks: crash" in runner.output

            app.tasks.stuck()
            _records(project, "stuck", 1)
            assert app.huey().is_locked("crash")
            runner.signal(signal.SIGINT)
            runner.wait_for("received SIGINT")
            # The second signal abandons the thread worker's run: its lock is released.
            assert runner.stop(signal.SIGINT) == 130
        assert "released lock crash of a run that did not finish" in runner.output
        assert not app.huey().is_locked("crash")
