"""Bulk enqueue: ``.map()`` and ``jobrunner.enqueue_many`` write one batch per round trip, and a
real ``jobrunner run`` consumer runs every task once, results in order, on every backend."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from huey import signals as S

import jobrunner
from jobrunner.batch._enqueue import SQLITE_ROWS
from tests.integration.helpers import records, wait_for_records
from tests.support.processes import Runner

SECRET = "serializer: {secret: bulk-test-secret}"


def _instance(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return "backend: sqlite\n    filename: queue.db"
    if backend in ("redis", "priority-redis"):
        url = request.getfixturevalue("redis_url")
        return f"backend: {backend}\n    url: {url}\n    read_timeout: 0.2\n    {SECRET}"
    dsn = request.getfixturevalue("postgres_dsn")
    return (
        f"backend: postgres\n    dsn: {dsn}\n    name: q{uuid.uuid4().hex[:8]}\n"
        f"    read_timeout: 0.2\n    {SECRET}"
    )


@pytest.fixture
def config_for(
    write_config: Callable[..., Path], request: pytest.FixtureRequest
) -> Callable[[str], Path]:
    def make(backend: str, workers: int = 4) -> Path:
        return write_config(
            f"version: 1\ninstances:\n  main:\n    {_instance(backend, request)}\n"
            f"    consumer: {{workers: {workers}}}\n"
            "tasks:\n  add:\n    function: sample_tasks:add\n"
            "  rec:\n    function: sample_tasks:record\n"
            "  urgent:\n    function: sample_tasks:record\n    priority: 10\n"
        )

    return make


@pytest.mark.parametrize("backend", ["sqlite", "redis", "priority-redis", "postgres"])
def test_map_enqueues_in_batches_and_returns_the_results_in_order(
    backend: str, config_for: Callable[[str], Path]
) -> None:
    config = config_for(backend)
    with jobrunner.load(config) as app:
        app_huey = app.huey("main")
        results = app.tasks.add.map(((i, 1000) for i in range(300)), batch_size=128)
        assert results is not None
        # Each call is its own message with its own id, all of them queued before any runs.
        assert app_huey.pending_count() == 300
        assert len({r.id for r in results}) == 300
        with Runner(config) as runner:
            got = [r.get(blocking=True, timeout=60) for r in results]
            assert runner.stop(signal.SIGINT) == 0
    assert got == [i + 1000 for i in range(300)]


@pytest.mark.parametrize("backend", ["sqlite", "priority-redis", "postgres"])
def test_enqueue_many_keeps_priorities_and_delays(
    backend: str, config_for: Callable[..., Path], project: Path
) -> None:
    config = config_for(backend, workers=1)
    out = project / "out.jsonl"
    with jobrunner.load(config) as app:
        sent = time.time()
        later = app.tasks.rec.s(str(out), "later", delay=3)
        plain = [app.tasks.rec.s(str(out), f"plain-{i}") for i in range(3)]
        urgent = [app.tasks.urgent.s(str(out), f"urgent-{i}") for i in range(3)]
        jobrunner.enqueue_many(app.huey("main"), [later, *plain, *urgent], batch_size=2)
        # All queued before the only worker starts: the order is the queue's alone.
        with Runner(config) as runner:
            found = wait_for_records(out, 7, timeout=60)
            assert runner.stop(signal.SIGINT) == 0
    values = [r["value"] for r in found]
    assert values[:3] == ["urgent-0", "urgent-1", "urgent-2"]
    # "later" runs once its delay is over: after the plain ones when they ran within those
    # 3 s; a runner that started later than that (a loaded machine) finds it due at once,
    # and the queue's order (it came first) puts it before them. Either way it waited.
    assert [v for v in values[3:] if v != "later"] == ["plain-0", "plain-1", "plain-2"]
    assert found[values.index("later")]["time"] >= sent + 3


def test_sqlite_batches_longer_than_a_statement_keep_their_order_and_priorities(
    config_for: Callable[..., Path],
) -> None:
    # One batch, split into statements of SQLITE_ROWS rows per run of equal priority: a run
    # that crosses a statement's end, a short urgent run between, and a long tail.
    with jobrunner.load(config_for("sqlite")) as app:
        app_huey = app.huey("main")
        rows = SQLITE_ROWS + 10
        first = [app.tasks.add.s(i, 0) for i in range(rows)]
        urgent = [app.tasks.urgent.s("unused", i) for i in range(3)]
        tail = [app.tasks.add.s(i, 0) for i in range(rows, 2 * rows + SQLITE_ROWS)]
        jobrunner.enqueue_many(app_huey, [*first, *urgent, *tail], batch_size=5000)
        assert app_huey.pending_count() == len(first) + 3 + len(tail)
        got = []
        while (task := app_huey.dequeue()) is not None:
            got.append((task.priority or 0, task.args[1] if task.priority else task.args[0]))
    assert got == [(10, 0), (10, 1), (10, 2)] + [(0, i) for i in range(2 * rows + SQLITE_ROWS)]


@pytest.mark.parametrize("signals", [(S.SIGNAL_ENQUEUED,), ()])
def test_map_sends_huey_s_enqueued_signal_per_task_to_whoever_listens(
    config_for: Callable[..., Path], signals: tuple[str, ...]
) -> None:
    # () is huey's "any signal" receiver.
    with jobrunner.load(config_for("sqlite")) as app:
        app_huey = app.huey("main")
        seen: list[str] = []
        app_huey.signal(*signals)(lambda signal, task, *args: seen.append(task.id))
        results = app.tasks.add.map([(i, 0) for i in range(5)], batch_size=2)
        assert results is not None
        assert seen == [r.id for r in results]


def test_map_in_immediate_mode_runs_each_item_in_order(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config("version: 1\ntasks:\n  rec:\n    function: sample_tasks:record\n")
    out = project / "out.jsonl"
    with jobrunner.load(config, immediate=True) as app:
        results = app.tasks.rec.map([(str(out), i) for i in range(5)])
        assert results is not None
        assert [r.get() for r in results] == [0, 1, 2, 3, 4]
    assert [r["value"] for r in records(out)] == [0, 1, 2, 3, 4]
