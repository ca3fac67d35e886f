"""Greenlet workers (gevent) through ``jobrunner run``: side by side, reload, clean stop."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from tests.integration.helpers import wait_for_records
from tests.support.processes import ROOT, Runner, cli

GREENLETS = """
version: 1
instances:
  main: {backend: sqlite, consumer: {worker_type: WORKERS, workers: 3}}
tasks:
  nap: {function: sample_tasks:sleep_and_record}
"""


@pytest.mark.slow
def test_greenlet_workers_run_tasks_side_by_side_and_stop_cleanly(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(GREENLETS.replace("WORKERS", "greenlet"))
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("3 greenlet worker(s)")
        runner.wait_for("INFO jobrunner: watching ")
        with jobrunner.load(config) as app:
            for i in range(3):
                app.tasks.nap(str(out), i, 1.0)
        ends = sorted(r["time"] for r in wait_for_records(out, 3, timeout=20))
        # One after another they would end a second apart: the sleeps took turns.
        assert ends[-1] - ends[0] < 0.9, ends
        # The config watcher works in the patched process too.
        config.write_text(config.read_text() + "  add: {function: sample_tasks:add}\n")
        runner.wait_for("INFO jobrunner: reloaded ")
        assert runner.stop(timeout=20) == 0, runner.output
    assert "INFO jobrunner: stopped" in runner.output


def test_greenlet_workers_without_gevent_is_a_clear_error(
    write_config: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = write_config(GREENLETS.replace("WORKERS", "greenlet"))
    stand_in = tmp_path_factory.mktemp("no-gevent")
    (stand_in / "gevent").mkdir()
    (stand_in / "gevent" / "__init__.py").write_text("raise ImportError('No module named gevent')")
    done = cli("run", str(config), PYTHONPATH=os.pathsep.join([str(stand_in), str(ROOT)]))
    assert done.returncode == 1, done.stderr
    # Caught with the file's line, as `jobrunner validate` reports it.
    assert "consumer.worker_type: greenlet workers need the Python package gevent" in done.stderr
    assert 'hint: pip install "jobrunner[gevent]"' in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_reload_to_greenlet_workers_asks_for_a_restart(write_config: Callable[..., Path]) -> None:
    config = write_config(GREENLETS.replace("WORKERS", "thread"))
    with Runner(config) as runner:
        runner.wait_for("3 thread worker(s)")
        runner.wait_for("INFO jobrunner: watching ")
        config.write_text(GREENLETS.replace("WORKERS", "greenlet"))
        output = runner.wait_for("reload rejected")
        assert (
            "reload rejected: greenlet workers (main) need a restart: the running process "
            "started without them" in output
        )
        assert runner.stop() == 0


@pytest.mark.slow
def test_greenlet_workers_enforce_a_task_timeout_and_go_on(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(
        GREENLETS.replace("WORKERS", "greenlet")
        + "  slow: {function: sample_tasks:sleep_and_record, timeout: 1s}\n"
    )
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("3 greenlet worker(s)")
        with jobrunner.load(config) as app:
            task = app.tasks.slow(str(out), "never", 120)
            output = runner.wait_for(f"Task {task.id} timed out after 1.0s.", timeout=60)
            app.tasks.nap(str(out), "after", 0)
        [after] = wait_for_records(out, 1, timeout=60)
        assert runner.stop(timeout=30) == 0, runner.output
    assert after["value"] == "after"  # the timed-out task never recorded
    assert "Traceback" not in output
