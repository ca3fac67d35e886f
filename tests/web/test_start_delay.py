"""``jobrunner_task_start_delay_seconds`` of a real ``jobrunner run``: a task enqueued while
the only worker is busy shows at least the time it waited; a message of plain huey runs
and is not counted (it has no enqueue time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import huey
import pytest

import jobrunner
from tests.integration.test_backends import _backend_lines
from tests.support.processes import Runner
from tests.web.support import endpoint_config, endpoint_url, wait_until
from tests.web.test_metrics import Samples, runs, scrape

HOLD = '''
import os
import time


def hold(started, release):
    """Keep the worker busy until the test lets go."""
    open(started, "w").close()
    while not os.path.exists(release):
        time.sleep(0.01)
'''

# How long the measured task surely waited: the test lets the worker go only after this
# many seconds have passed since the task was enqueued.
WAITED = 3.0


def _delay(samples: Samples, task: str, suffix: str, **labels: str) -> float:
    key = frozenset({("instance", "main"), ("task", task), *labels.items()})
    return samples[(f"jobrunner_task_start_delay_seconds_{suffix}", key)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "worker_type"),
    [("sqlite", "thread"), ("redis", "process"), ("postgres", "thread"), ("sqlite", "process")],
)
def test_a_task_behind_a_busy_worker_shows_its_wait(
    backend: str,
    worker_type: str,
    write_config: Callable[..., Path],
    project: Path,
    request: pytest.FixtureRequest,
) -> None:
    (project / "delay_tasks.py").write_text(HOLD)
    config = endpoint_config(
        write_config,
        _backend_lines(backend, project, request),
        f"{{workers: 1, worker_type: {worker_type}}}",
        "hold: {function: delay_tasks:hold}\nadd: {function: sample_tasks:add}",
    )
    started, release = project / "started", project / "release"
    with Runner(config) as runner:
        url = endpoint_url(runner)
        runner.wait_for("Huey consumer started")
        with jobrunner.load(config) as app:
            app.tasks.hold(str(started), str(release))
            wait_until(started.exists, 60, "the worker holding")
            app.tasks.add(1, 2)
            enqueued_by = time.time()
        while time.time() < enqueued_by + WAITED:
            time.sleep(0.1)
        release.touch()
        expected = {("hold", "complete"): 1, ("add", "complete"): 1}
        wait_until(lambda: runs(scrape(url)) == expected, 60, f"runs == {expected}")
        samples = scrape(url)
        assert _delay(samples, "add", "count") == 1
        assert _delay(samples, "add", "sum") >= WAITED
        assert _delay(samples, "add", "bucket", le="2.5") == 0
        assert _delay(samples, "hold", "count") == 1
        assert runner.stop() == 0


@pytest.mark.slow
def test_a_message_of_plain_huey_runs_and_has_no_delay(
    write_config: Callable[..., Path],
) -> None:
    config = write_config(
        """
version: 1
http: {listen: "127.0.0.1:0"}
instances:
  main: {backend: sqlite, filename: queue.db}
tasks:
  add: {function: sample_tasks:add}
"""
    )
    with Runner(config) as runner:
        url = endpoint_url(runner)
        runner.wait_for("Huey consumer started")
        with jobrunner.load(config) as app:
            app_huey = app.huey()
            plain = huey.SqliteHuey(app_huey.name, filename=app_huey.storage.filename)

            def add(a: int, b: int) -> int:
                return a + b

            add.__module__ = "jobrunner.tasks"  # the name jobrunner registers the task under
            plain_result = plain.task(name="add")(add)(2, 3)
            stamped_result = app.tasks.add(1, 2)
            # Results stay plain huey's: its producer reads what jobrunner's worker stored.
            assert plain_result.get(blocking=True, timeout=60) == 5
            assert stamped_result.get(blocking=True, timeout=60) == 3
        wait_until(lambda: runs(scrape(url)) == {("add", "complete"): 2}, 60, "both ran")
        assert _delay(scrape(url), "add", "count") == 1
        assert runner.stop() == 0
