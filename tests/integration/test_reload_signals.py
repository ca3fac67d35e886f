"""A reload, however slow, never blocks the signals; the old configuration runs meanwhile."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from tests.config.test_hostile_files import LAUGHS
from tests.integration.helpers import values
from tests.support.processes import Runner

CONFIG = """
version: 1
instances:
  main: {backend: sqlite, filename: queue.db}
tasks:
  rec: {function: sample_tasks:record}
"""

# A task module whose import takes far longer than any test waits: a reload importing it
# is still in progress when the signal arrives.
SLOW_MODULE = """
import pathlib, time
pathlib.Path(__file__).with_name("importing").touch()
time.sleep(600)
pathlib.Path(__file__).with_name("imported").touch()

def work():
    return None
"""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.05)


def old_config_runs(config: Path, out: Path, value: str) -> None:
    with jobrunner.load(config) as app:
        assert app.tasks.rec(str(out), value).get(blocking=True, timeout=30) == value


@pytest.mark.slow
def test_signal_stops_the_runner_while_a_reload_imports_for_ever(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(CONFIG)
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for(" jobrunner: watching ")
        (project / "slow_module.py").write_text(SLOW_MODULE)
        config.write_text(
            CONFIG.lstrip() + "  slow: {function: slow_module:work, instance: main}\n"
        )
        wait_until((project / "importing").exists, "the reload's import")
        # The reload is in progress: the running configuration still takes work.
        old_config_runs(config, out, "during the reload")
        assert runner.stop(signal.SIGTERM, timeout=60) == 0, runner.output
    assert values(out) == ["during the reload"]
    assert not (project / "imported").exists()
    assert "received SIGTERM: stopping once running tasks finish" in runner.output
    assert " jobrunner: reloaded " not in runner.output
    assert "Traceback" not in runner.output


@pytest.mark.slow
def test_a_billion_laughs_edit_is_rejected_and_sigint_still_stops(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(CONFIG)
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for(" jobrunner: watching ")
        config.write_text(LAUGHS)
        output = runner.wait_for("reload rejected: 1 error (generation 1 keeps running)")
        assert "the file holds more than 1,000,000 values" in output
        # A producer with the running configuration (the file on disk is the bomb now).
        old_config_runs(
            write_config(CONFIG, name="producer.yaml"), out, "after the rejected reload"
        )
        assert runner.stop(signal.SIGINT, timeout=60) == 0, runner.output
    assert values(out) == ["after the rejected reload"]
    # The first signal's line says what a second one does.
    assert (
        "received SIGINT: stopping once running tasks finish; a second SIGINT or SIGTERM "
        "interrupts them"
    ) in runner.output
    assert "Traceback" not in runner.output


def test_a_rejected_reload_never_logs_a_secret(
    write_config: Callable[..., Path], project: Path
) -> None:
    secret = "s3cr3t-Reload-4b1d"
    config = write_config(CONFIG)
    with Runner(config, JOBRUNNER_SECRET=secret) as runner:
        runner.wait_for(" jobrunner: watching ")
        config.write_text(
            CONFIG.lstrip().replace(
                "{backend: sqlite, filename: queue.db}",
                "\n    backend: sqlite\n    filename: queue.db"
                "\n    serializer: ${JOBRUNNER_SECRET}",
            )
        )
        output = runner.wait_for("reload rejected: 1 error (generation 1 keeps running)")
        assert runner.stop(signal.SIGINT) == 0
    assert "instances.main.serializer: expected a mapping, got the string '***'" in output
    assert secret not in runner.output
