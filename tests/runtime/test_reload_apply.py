"""Applying reloads to a Runner started in this process (its consumers are threads here).

The subprocess tests in ``tests/integration/test_reload*.py`` cover the file
watching and the real ``jobrunner run``; these check, quickly, what a reload
does to huey's registry and to the consumers.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobrunner
from jobrunner.runtime import Runner, RunOptions
from tests.integration.helpers import values, wait_for_records
from tests.support.processes import cli

CONFIG = """
version: 1
instances:
  default:
    backend: sqlite
    filename: queue.db
    consumer: {workers: 2}
tasks:
  rec:
    function: sample_tasks:record
schedules:
  nightly:
    function: sample_tasks:record
    cron: "0 3 * * *"
    args: [nightly.jsonl, nightly]
"""

Start = Callable[..., Runner]


@pytest.fixture
def start(project: Path, write_config: Callable[..., Path]) -> Iterator[Start]:
    """Start a Runner on a config text (no file watcher: tests call reload() themselves)."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {s: signal.getsignal(s) for s in signals}
    runners: list[Runner] = []

    def run(text: str, **options: object) -> Runner:
        path = write_config(text)
        runner = Runner(str(path), RunOptions(reload=False, **options))  # type: ignore[arg-type]
        runner.start()
        runners.append(runner)
        return runner

    yield run
    for runner in runners:
        runner.stop()
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _save(runner: Runner, text: str) -> None:
    Path(runner.path).write_text(text.lstrip("\n"))


def _registered(runner: Runner, instance: str = "default") -> dict[str, type]:
    registry = runner.app_or_fail().huey(instance)._registry._registry
    return dict(registry)


def _enqueue(runner: Runner, task: str, *args: object) -> None:
    app = jobrunner.load(runner.path)
    try:
        app.tasks[task](*args)
    finally:
        app.close()


def test_a_changed_function_runs_after_the_reload(start: Start, project: Path) -> None:
    runner = start(CONFIG)
    out = project / "out.jsonl"
    _enqueue(runner, "rec", str(out), "before")
    wait_for_records(out, 1)
    _save(
        runner,
        CONFIG.replace(
            "  rec:\n    function: sample_tasks:record", "  rec:\n    function: reloaded:rec"
        ),
    )
    (project / "reloaded.py").write_text(
        "import sample_tasks\n\ndef rec(path, value):\n"
        "    return sample_tasks.record(path, 'new ' + value)\n"
    )
    assert runner.reloader is not None
    assert runner.reloader.reload("SIGHUP")
    _enqueue(runner, "rec", str(out), "after")
    wait_for_records(out, 2)
    assert values(out) == ["before", "new after"]


def test_an_unchanged_schedule_keeps_its_registration(start: Start) -> None:
    runner = start(CONFIG)
    before = _registered(runner)
    _save(runner, CONFIG.replace("  rec:\n", "  rec:\n    retries: 3\n"))
    assert runner.reloader is not None
    assert runner.reloader.reload("SIGHUP")
    after = _registered(runner)
    assert after["jobrunner.schedules.nightly"] is before["jobrunner.schedules.nightly"]
    assert after["jobrunner.tasks.rec"] is not before["jobrunner.tasks.rec"]
    assert after["jobrunner.tasks.rec"].default_retries == 3
    assert runner.app_or_fail().tasks.rec.task_class is after["jobrunner.tasks.rec"]


def test_a_failed_import_changes_nothing(
    start: Start, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = start(CONFIG)
    before = _registered(runner)
    consumer = runner.consumers["default"]
    broken = (
        CONFIG.replace("consumer: {workers: 2}", "consumer: {workers: 3}")
        .replace("  rec:\n    function: sample_tasks:record", "  rec:\n    function: missing_mod:f")
        .replace('cron: "0 3 * * *"', 'cron: "0 4 * * *"')
    )
    _save(runner, broken)
    assert runner.reloader is not None
    with caplog.at_level(logging.INFO, logger="jobrunner"):
        assert not runner.reloader.reload("file change")
    assert _registered(runner) == before
    assert runner.consumers["default"] is consumer
    assert runner.reloader.generation == 1
    # The errors are logged exactly as `jobrunner validate` prints them.
    validate = cli("validate", runner.path, cwd=project)
    issue_lines = [line for line in validate.stdout.splitlines() if line.startswith(runner.path)]
    assert issue_lines
    logged = caplog.text
    assert "reload rejected: 1 error (generation 1 keeps running)" in logged
    for line in validate.stdout.splitlines()[:-1]:
        assert line in logged


def test_the_same_file_saved_again_is_skipped_but_a_retry_after_failure_is_not(
    start: Start, project: Path
) -> None:
    runner = start(CONFIG)
    reloader = runner.reloader
    assert reloader is not None
    assert not reloader.reload("file change")  # nothing new on disk
    _save(
        runner,
        CONFIG.replace(
            "  rec:\n    function: sample_tasks:record", "  rec:\n    function: later_mod:rec"
        ),
    )
    assert not reloader.reload("file change")  # the module does not exist yet
    (project / "later_mod.py").write_text("def rec(*args):\n    return args\n")
    assert reloader.reload("file change")  # same bytes, but the last attempt failed
    assert reloader.generation == 2


def test_registry_replacement_never_hides_the_task(start: Start) -> None:
    runner = start(CONFIG)
    registry = runner.app_or_fail().huey("default")._registry
    missing: list[str] = []
    done = threading.Event()

    def look_up() -> None:
        while not done.is_set():
            if "jobrunner.tasks.rec" not in registry._registry:
                missing.append("rec")

    reader = threading.Thread(target=look_up)
    reader.start()
    reloader = runner.reloader
    assert reloader is not None
    try:
        for retries in range(1, 30):
            _save(runner, CONFIG.replace("  rec:\n", f"  rec:\n    retries: {retries}\n"))
            assert reloader.reload("file change")
    finally:
        done.set()
        reader.join()
    assert not missing
    assert registry._registry["jobrunner.tasks.rec"].default_retries == 29


def test_a_consumer_change_restarts_only_that_instance(start: Start, project: Path) -> None:
    two = CONFIG.replace(
        "    consumer: {workers: 2}\n",
        "    consumer: {workers: 2}\n  other:\n    backend: sqlite\n    filename: other.db\n",
    ).replace(
        "    function: sample_tasks:record\n",
        "    function: sample_tasks:record\n    instance: default\n",
    )
    runner = start(two)
    default, other = runner.consumers["default"], runner.consumers["other"]
    _save(runner, two.replace("consumer: {workers: 2}", "consumer: {workers: 1}"))
    assert runner.reloader is not None
    assert runner.reloader.reload("SIGHUP")
    assert runner.consumers["other"] is other
    assert runner.consumers["default"] is not default
    assert runner.consumers["default"].workers == 1
    assert default.stop_flag.is_set()
    out = project / "out.jsonl"
    _enqueue(runner, "rec", str(out), "after restart")
    wait_for_records(out, 1)


def test_a_reload_that_leaves_nothing_to_run_is_refused(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    runner = start(CONFIG)
    _save(
        runner,
        CONFIG.replace("    backend: sqlite\n", "    backend: sqlite\n    immediate: true\n"),
    )
    assert runner.reloader is not None
    with caplog.at_level(logging.INFO, logger="jobrunner"):
        assert not runner.reloader.reload("SIGHUP")
    assert "reload rejected: no instance left to run" in caplog.text
    assert "default" in runner.consumers
