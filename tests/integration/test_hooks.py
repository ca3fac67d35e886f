"""``setup:``, ``hooks:`` and ``signals:`` in a real ``jobrunner run``, thread and process workers.

The task module refuses to import unless the setup function ran first (as a Django
models module does without ``django.setup()``); every hook and handler notes its
process id, so the test sees which process called what.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobrunner
from tests.support.processes import Runner

BOOT = """
READY = False


def boot():
    global READY
    from hooked_notes import note

    note("setup")
    READY = True


def boot_again():
    from hooked_notes import note

    note("setup-again")
"""

NOTES = """
import json
import os
import time

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.jsonl")


def note(kind, **extra):
    with open(OUT, "a", encoding="utf-8") as fh:
        line = {"kind": kind, "pid": os.getpid(), "time": time.time(), **extra}
        fh.write(json.dumps(line) + "\\n")
"""

TASKS = """
import boot_state

if not boot_state.READY:
    raise ImportError("hooked_tasks imported before setup ran")

from hooked_notes import note


def ok(value):
    note("run", value=value)
    return value * 2


def fail(message):
    raise ValueError(message)


def started():
    note("startup")


def stopped():
    note("shutdown")


def before(task):
    note("pre", task=task.name)


def after(task, value, exception):
    note("post", task=task.name, value=value, exception=repr(exception))


def broken(*args):
    raise RuntimeError("hook exploded")


def on_error(signal, task, *args):
    note("error-signal", signal=signal, task=task.name,
         exception_type=type(args[0]).__name__, exception=str(args[0]))


def on_any(signal, task, *args):
    note("signal", signal=signal, task=task.name)
"""

CONFIG = """
version: 1
setup: [boot_state:boot]
instances:
  default:
    backend: sqlite
    filename: queue.db
    consumer: {{workers: 2, worker_type: {worker_type}}}
    hooks:
      on_startup: [hooked_tasks:started]
      on_shutdown: [hooked_tasks:stopped]
      pre_execute: [hooked_tasks:broken, hooked_tasks:before]
      post_execute: [hooked_tasks:after]
    signals:
      - handler: hooked_tasks:on_error
        on: [error]
      - handler: hooked_tasks:on_any
      - handler: hooked_tasks:broken
        on: [complete]
tasks:
  ok:
    function: hooked_tasks:ok
  fail:
    function: hooked_tasks:fail
"""


def _notes(project: Path) -> list[dict[str, Any]]:
    path = project / "notes.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _wait(project: Path, ready: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        notes = _notes(project)
        if ready(notes):
            return notes
        time.sleep(0.05)
    raise AssertionError(f"notes did not arrive: {_notes(project)}")


def _kinds(notes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [n for n in notes if n["kind"] == kind]


@pytest.fixture
def hooked_project(project: Path) -> Path:
    (project / "boot_state.py").write_text(BOOT)
    (project / "hooked_notes.py").write_text(NOTES)
    (project / "hooked_tasks.py").write_text(TASKS)
    return project


@pytest.mark.slow
@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_setup_hooks_and_signals_in_a_real_consumer(
    worker_type: str, hooked_project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(CONFIG.format(worker_type=worker_type))
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        _wait(hooked_project, lambda n: len(_kinds(n, "startup")) == 2)
        with jobrunner.load(config) as app:
            assert app.tasks.ok(21).get(blocking=True, timeout=30) == 42
            app.tasks.fail("bad input 42")
            notes = _wait(hooked_project, lambda n: len(_kinds(n, "error-signal")) == 1)
            # The raising hook and handler did not stop anything: the consumer still runs tasks.
            assert app.tasks.ok(1).get(blocking=True, timeout=30) == 2
        output = runner.wait_for("raised RuntimeError: hook exploded", count=2)
        assert runner.stop(signal.SIGINT) == 0
    notes = _wait(hooked_project, lambda n: len(_kinds(n, "shutdown")) == 2)
    parent = runner.process.pid

    # setup ran once, in the consumer, before the task module (which would not import otherwise).
    [setup] = _kinds(notes, "setup")
    assert setup["pid"] == parent
    # on_startup / on_shutdown: once per worker, in the worker's process.
    worker_pids = {n["pid"] for n in _kinds(notes, "startup")}
    if worker_type == "thread":
        assert worker_pids == {parent}
    else:
        assert len(worker_pids) == 2
        assert parent not in worker_pids
    assert {n["pid"] for n in _kinds(notes, "shutdown")} == worker_pids
    # Hooks and handlers run where the task runs.
    runs = _kinds(notes, "run")
    assert [r["value"] for r in runs] == [21, 1]
    for kind in ("run", "pre", "post", "signal", "error-signal"):
        assert {n["pid"] for n in _kinds(notes, kind)} <= worker_pids, kind
    assert [p["task"] for p in _kinds(notes, "pre")] == ["ok", "fail", "ok"]
    post = _kinds(notes, "post")
    assert [(p["value"], p["exception"]) for p in post if p["task"] == "ok"] == [
        (42, "None"),
        (2, "None"),
    ]
    # The error signal carries the exception the task raised.
    [error] = _kinds(notes, "error-signal")
    assert (error["task"], error["exception_type"], error["exception"]) == (
        "fail",
        "ValueError",
        "bad input 42",
    )
    # A handler without `on` hears every signal, in huey's order.
    ok_signals = [s["signal"] for s in _kinds(notes, "signal") if s["task"] == "ok"]
    assert ok_signals == ["executing", "complete"] * 2
    fail_signals = [s["signal"] for s in _kinds(notes, "signal") if s["task"] == "fail"]
    assert fail_signals == ["executing", "error"]
    # Each failure is logged with the YAML line that declared the function.
    assert (
        f"pre_execute hook hooked_tasks:broken ({config}:11:21) raised RuntimeError: "
        "hook exploded" in output
    )
    assert (
        f"signal handler hooked_tasks:broken ({config}:17:18) raised RuntimeError: "
        "hook exploded" in output
    )
    assert "Traceback" in output
    assert os.getpid() not in {n["pid"] for n in notes}


BEFORE_RELOAD = """
version: 1
setup: [boot_state:boot]
instances:
  default: {backend: sqlite, filename: queue.db, consumer: {workers: 2}}
tasks:
  ok: {function: hooked_tasks:ok}
"""

AFTER_RELOAD = """
version: 1
setup: [boot_state:boot, boot_state:boot_again]
instances:
  default:
    backend: sqlite
    filename: queue.db
    consumer: {workers: 2}
    hooks:
      on_startup: [hooked_tasks:started]
      pre_execute: [hooked_tasks:before]
tasks:
  ok: {function: hooked_tasks:ok, lock: ok-lock}
"""


@pytest.mark.slow
def test_a_reload_adds_setup_hooks_and_a_lock(
    hooked_project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(BEFORE_RELOAD)
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        write_config(AFTER_RELOAD)
        output = runner.wait_for("INFO jobrunner: reloaded ")
        assert "~instance default (hooks " in output
        assert "~task ok (lock none->{'name': 'ok-lock', 'ttl': None})" in output
        # The instance's consumer was restarted with the hooks: each new worker started.
        _wait(hooked_project, lambda n: len(_kinds(n, "startup")) == 2)
        with jobrunner.load(config) as app:
            assert app.tasks.ok(5).get(blocking=True, timeout=30) == 10
        assert runner.stop(signal.SIGINT) == 0
    notes = _notes(hooked_project)
    # The new setup function ran once; the first was not run again.
    assert [n["kind"] for n in notes if n["kind"].startswith("setup")] == ["setup", "setup-again"]
    assert [n["task"] for n in _kinds(notes, "pre")] == ["ok"]
