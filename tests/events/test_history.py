"""History on SQLite, Redis and PostgreSQL at once: one runner, three instances.

The run sequence survives a restart; retention prunes by count, then by age; the
process-worker variant gets a failing task's traceback into the history.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import jobrunner
from jobrunner.events import RUN_STATUSES
from tests.events.support import RUN_SEQUENCE, add_tasks, wait_until
from tests.support.processes import Runner

BACKENDS = ("lite", "red", "pg")


def _config(write_config: Any, redis_url: str, postgres_dsn: str, history: str = "true") -> Path:
    path: Path = write_config(
        f"""
        version: 1
        instances:
          lite:
            backend: sqlite
            filename: lite.db
            events: {{history: {history}}}
          red:
            backend: redis
            url: {redis_url}
            events: {{history: {history}}}
          pg:
            backend: postgres
            dsn: {postgres_dsn}
            events: {{history: {history}}}
        tasks:
          flaky_lite: {{function: event_tasks:flaky, retries: 2, instance: lite}}
          flaky_red: {{function: event_tasks:flaky, retries: 2, instance: red}}
          flaky_pg: {{function: event_tasks:flaky, retries: 2, instance: pg}}
        """
    )
    return path


def _all(app: jobrunner.App, name: str) -> list[Any]:
    return app.history(instance=name, limit=100_000)


@pytest.mark.slow
def test_history_survives_a_restart_and_retention_prunes_by_count_then_age(
    project: Path, write_config: Any, redis_url: str, postgres_dsn: str
) -> None:
    add_tasks(project)
    config = _config(write_config, redis_url, postgres_dsn)
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        app = jobrunner.load(config)
        for name in BACKENDS:
            app.tasks[f"flaky_{name}"](str(project / f"{name}.count"), 2)
        for name in BACKENDS:
            wait_until(
                lambda name=name: app.history(task=f"flaky_{name}", status="complete"),
                what=f"flaky_{name} complete in the history",
            )
        assert runner.stop() == 0

    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        app = jobrunner.load(config)
        for name in BACKENDS:
            found = app.history(task=f"flaky_{name}", status=RUN_STATUSES)
            assert [e.status for e in reversed(found)] == RUN_SEQUENCE, name
            assert {e.instance for e in found} == {name}
            errors = app.history(task=f"flaky_{name}", status="error")
            assert [e.error for e in errors] == [
                "RuntimeError: flaky failure 2",
                "RuntimeError: flaky failure 1",
            ]
            assert app.history(task=f"flaky_{name}", since="1h", limit=2)[0].status == "complete"
            assert app.history(task=f"flaky_{name}", until="1h") == []
        assert runner.stop() == 0

    # Keep 4: the restart's first prune leaves the newest four events of each instance.
    config = _config(write_config, redis_url, postgres_dsn, history="{keep: 4}")
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        app = jobrunner.load(config)
        for name in BACKENDS:
            wait_until(lambda name=name: len(_all(app, name)) == 4, what=f"{name} pruned to 4")
        assert runner.stop() == 0

    # Everything older than a second goes on the next start.
    config = _config(write_config, redis_url, postgres_dsn, history="{max_age: 1s}")
    time.sleep(1.5)
    started = time.time()
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        app = jobrunner.load(config)
        for name in BACKENDS:
            wait_until(
                lambda name=name: all(e.ts >= started - 1 for e in _all(app, name)),
                what=f"{name} pruned by age",
            )
            assert [e.status for e in _all(app, name)] == ["consumer-started"]
        assert runner.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("worker_type", ["process", "greenlet"])
def test_a_process_or_greenlet_workers_error_and_traceback_reach_the_history(
    project: Path, write_config: Any, worker_type: str
) -> None:
    config = write_config(
        f"""
        version: 1
        instances:
          default:
            backend: sqlite
            filename: jobs.db
            consumer: {{workers: 2, worker_type: {worker_type}}}
        tasks:
          boom: {{function: sample_tasks:fail}}
        """
    )
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        app = jobrunner.load(config)
        app.tasks.boom("from a process worker")
        errors = wait_until(
            lambda: app.history(task="boom", status="error"), what="the error in the history"
        )
        assert runner.stop() == 0
    error = errors[0]
    assert error.error == "RuntimeError: from a process worker"
    assert error.traceback is not None
    assert "in fail\n    raise RuntimeError(message)" in error.traceback
    started = app.history(task="boom", status="started")
    assert started[0].pid == error.pid
    if worker_type == "process":
        # Emitted in the worker process, written by the runner's dispatcher.
        assert error.pid != runner.process.pid
    else:
        assert error.pid == runner.process.pid
