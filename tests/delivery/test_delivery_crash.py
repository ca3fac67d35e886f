"""No task lost when a consumer is killed or stopped: real ``jobrunner run``, real signals.

200 tasks that sleep 0.5 s and record their number, 4 thread workers, a lease
of 2 s. The first consumer is killed (SIGKILL) or stopped (SIGTERM) mid-run; a
second one finishes the queue. Every number is recorded at least once, and only
the tasks in flight at the kill may be recorded twice.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from jobrunner.delivery import store_for
from tests.delivery.support import backend_lines, jobs_yaml, wait_for_all
from tests.integration.helpers import records, values, wait_for_records
from tests.support.processes import Runner

pytestmark = pytest.mark.slow

TASKS = 200


def _in_flight(config: Path) -> int:
    app = jobrunner.load(config)
    store = store_for(app.huey().storage)
    assert store is not None
    store.setup()
    count = sum(store.in_flight().values())
    app.close()
    return count


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"])
def test_sigkill_mid_run_loses_nothing(
    backend: str,
    request: pytest.FixtureRequest,
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    config = write_config(jobs_yaml(backend_lines(backend, request)))
    out = project / "out.jsonl"
    app = jobrunner.load(config)
    for number in range(TASKS):
        app.tasks.sleepy(str(out), number, 0.5)
    app.close()

    with Runner(config, "--no-reload") as first:
        first.wait_for("at-least-once delivery")
        wait_for_records(out, 8, timeout=60)
        first.kill()
    held = _in_flight(config)
    assert 1 <= held <= 4, f"{held} task(s) in flight after the kill"
    done_before = len(records(out))
    assert done_before < TASKS

    with Runner(config, "--no-reload") as second:
        counts = wait_for_all(out, range(TASKS), timeout=240)
        output = second.wait_for("task(s) of consumer")
        assert second.stop(signal.SIGTERM) == 0
    assert f"put back {held} task(s) of consumer" in output
    twice = sorted(v for v, n in counts.items() if n > 1)
    assert len(twice) <= held, f"recorded twice: {twice} with {held} in flight"
    assert max(counts.values()) <= 2
    assert _in_flight(config) == 0


@pytest.mark.parametrize(
    ("backend", "worker_type"),
    [
        ("sqlite", "thread"),
        ("redis", "thread"),
        ("redis", "process"),
        ("postgres", "thread"),
        ("sqlite", "greenlet"),
    ],
)
def test_sigterm_with_a_short_shutdown_timeout_puts_cut_off_tasks_back(
    backend: str,
    worker_type: str,
    request: pytest.FixtureRequest,
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    # Once: a PostgreSQL instance gets a queue name of its own per call.
    lines = backend_lines(backend, request)
    config = write_config(
        jobs_yaml(lines, consumer=f"shutdown_timeout: 0.3s\nworker_type: {worker_type}")
    )
    out = project / "out.jsonl"
    app = jobrunner.load(config)
    for number in range(20):
        app.tasks.sleepy(str(out), number, 3)
    app.close()

    with Runner(config, "--no-reload") as first:
        first.wait_for("INFO huey: Executing ", count=4)
        assert first.stop(signal.SIGTERM) == 0
        output = first.output
    assert "Shutdown timeout of 0.3s elapsed" in output
    if worker_type == "thread":
        # Threads cannot be interrupted: the consumer puts their tasks back itself.
        assert "put back 4 task(s) cut off by the shutdown" in output
    else:
        # Process and greenlet workers are interrupted; each puts its own task back.
        assert "did not finish" in output
    assert _in_flight(config) == 0
    cut_off = len(records(out))

    fast = write_config(
        jobs_yaml(lines).replace("workers: 4", "workers: 8"),
        name="fast.yaml",
    )
    with Runner(fast, "--no-reload") as second:
        counts = wait_for_all(out, range(20), timeout=120)
        assert second.stop(signal.SIGTERM) == 0
    assert sum(n > 1 for n in counts.values()) <= cut_off  # only a task finishing at the cut


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"])
def test_sigterm_lets_running_tasks_finish_and_runs_each_task_once(
    backend: str,
    request: pytest.FixtureRequest,
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    config = write_config(jobs_yaml(backend_lines(backend, request)))
    out = project / "out.jsonl"
    app = jobrunner.load(config)
    for number in range(20):
        app.tasks.sleepy(str(out), number, 0.5)
    app.close()

    with Runner(config, "--no-reload") as first:
        wait_for_records(out, 1, timeout=60)
        assert first.stop(signal.SIGTERM) == 0
        assert "cut off" not in first.output
    assert _in_flight(config) == 0
    assert 1 <= len(values(out)) < 20

    with Runner(config, "--no-reload") as second:
        counts = wait_for_all(out, range(20), timeout=120)
        assert second.stop(signal.SIGTERM) == 0
    assert set(counts.values()) == {1}


@pytest.mark.parametrize(
    ("backend", "worker_type"),
    [("sqlite", "thread"), ("redis", "thread"), ("postgres", "thread"), ("redis", "greenlet")],
)
def test_a_second_signal_puts_the_running_tasks_back_at_once(
    backend: str,
    worker_type: str,
    request: pytest.FixtureRequest,
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    config = write_config(
        jobs_yaml(backend_lines(backend, request), consumer=f"worker_type: {worker_type}")
    )
    out = project / "out.jsonl"
    app = jobrunner.load(config)
    for number in range(6):
        app.tasks.sleepy(str(out), number, 120)
    app.close()

    with Runner(config, "--no-reload") as runner:
        runner.wait_for("INFO huey: Executing ", count=4)
        runner.signal(signal.SIGINT)
        runner.wait_for("Shutting down gracefully")
        # Cut off: "interrupted" (130), not a clean stop, and without waiting two minutes.
        assert runner.stop(signal.SIGINT, timeout=60) == 130, runner.output
        output = runner.output
    assert "second signal: interrupting running tasks" in output
    assert records(out) == []
    # Back on the queue now, not when the lease expires: all six wait, none in flight.
    assert _in_flight(config) == 0
    with jobrunner.load(config) as app:
        assert app.huey().pending_count() == 6
