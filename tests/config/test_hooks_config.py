"""``setup``, ``hooks``, ``signals``, ``lock``, ``rate_limit`` and ``context_manager``:
validated with located errors, ``setup`` run where and when it must be."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from jobrunner.config.model import ContextManagerConfig, LockConfig, RateLimitConfig
from tests.support.processes import cli

BOOT = """
import os

MARKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "setup-ran.txt")
READY = False


def boot():
    global READY
    with open(MARKER, "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    READY = True


def explode():
    raise RuntimeError("no settings module")
"""

NEEDS_BOOT = """
import boot_state

if not boot_state.READY:
    raise ImportError("imported before setup")


def run():
    return "ran"
"""

CONTEXTS = """
from contextlib import contextmanager

EVENTS = []


@contextmanager
def transaction():
    EVENTS.append("enter")
    try:
        yield
    finally:
        EVENTS.append("exit")


class Shared:
    def __enter__(self):
        EVENTS.append("shared-enter")

    def __exit__(self, *exc):
        EVENTS.append("shared-exit")


SHARED = Shared()


def work(value):
    EVENTS.append(f"work {value}")
    return value


@contextmanager
def connection():
    yield "the connection"


def given(conn, value):
    EVENTS.append(f"given {conn} {value}")
    return value
"""

WITH_SETUP = """
version: 1
setup: [boot_state:boot]
tasks:
  run:
    function: needs_boot:run
"""


@pytest.fixture
def booted(project: Path) -> Path:
    (project / "boot_state.py").write_text(BOOT)
    (project / "needs_boot.py").write_text(NEEDS_BOOT)
    (project / "contexts.py").write_text(CONTEXTS)
    return project


def _marker(project: Path) -> list[str]:
    path = project / "setup-ran.txt"
    return path.read_text().split() if path.exists() else []


def test_validate_runs_setup_before_importing_the_tasks(
    booted: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(WITH_SETUP)
    result = cli("validate", str(config), cwd=booted)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(_marker(booted)) == 1


def test_validate_no_imports_runs_no_setup(booted: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(WITH_SETUP)
    result = cli("validate", "--no-imports", str(config), cwd=booted)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _marker(booted) == []


def test_a_failing_setup_is_reported_at_its_line_without_a_traceback(
    booted: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(WITH_SETUP.replace("boot_state:boot", "boot_state:explode"))
    result = cli("validate", str(config), cwd=booted)
    assert result.returncode == 1
    assert (
        f"{config}:2:9: setup[0]: setup boot_state:explode raised RuntimeError: "
        "no settings module" in result.stdout
    )
    # The task module is not imported after a failed setup: its error would only be noise.
    assert "imported before setup" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_every_bad_reference_and_value_is_located(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        """
        version: 1
        instances:
          default:
            backend: sqlite
            hooks:
              on_startup: [sample_tasks:missing]
            signals:
              - handler: sample_tasks:add
                on: [error, erorr]
          files:
            backend: file
            path: q
            delivery: at_most_once
        tasks:
          a:
            function: sample_tasks:add
            instance: default
            context_manager: sample_tasks:NOT_CALLABLE
            rate_limit: {limit: 5, per: 500ms}
          b:
            function: sample_tasks:add
            instance: files
            lock: {name: b, ttl: 1m}
        """
    )
    result = cli("validate", str(config), cwd=project)
    assert result.returncode == 1
    out = result.stdout
    assert (
        f"{config}:6:20: instances.default.hooks.on_startup[0]: cannot import "
        "sample_tasks:missing: module 'sample_tasks' has no attribute 'missing'" in out
    )
    assert f"{config}:9:21: instances.default.signals[0].on[1]: 'erorr' is not one of" in out
    assert (
        f"{config}:18:22: tasks.a.context_manager: sample_tasks:NOT_CALLABLE is an int, "
        "neither a context manager nor a function that makes one" in out
    )
    assert (
        f"{config}:19:33: tasks.a.rate_limit.per: rate_limit per must be at least 1 second" in out
    )
    assert f"{config}:23:26: tasks.b.lock.ttl: the file backend cannot expire a lock" in out
    assert "5 errors" in result.stderr or "5 errors" in out


def test_defaults_carry_rate_limit_and_context_manager(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        """
        version: 1
        defaults:
          rate_limit: {limit: 10, per: 1m}
          context_manager: contexts:transaction
        tasks:
          a: {function: sample_tasks:add, lock: nightly}
          b: {function: sample_tasks:add, rate_limit: {limit: 1, per: 1s, name: api, retry: false}}
        schedules:
          s: {task: a, cron: "* * * * *"}
        """
    )
    with jobrunner.load(config) as app:
        a, b = app.config.tasks["a"].options, app.config.tasks["b"].options
        assert a.rate_limit == RateLimitConfig(limit=10, per=60.0)
        assert (
            a.context_manager == b.context_manager == ContextManagerConfig("contexts:transaction")
        )
        assert a.lock == LockConfig("nightly")
        assert b.rate_limit == RateLimitConfig(limit=1, per=1.0, name="api", retry=False)
        assert app.config.schedules["s"].options.lock == LockConfig("nightly")


def test_load_runs_setup_only_when_asked_and_once_per_process(
    booted: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(WITH_SETUP.replace("boot_state:boot", "boot_state:boot\n  "))
    with jobrunner.load(config):
        assert _marker(booted) == []
    with jobrunner.load(config, setup=True), jobrunner.load(config, setup=True):
        pass
    assert len(_marker(booted)) == 1


def test_context_manager_wraps_each_run(booted: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(
        """
        version: 1
        instances:
          default: {backend: memory, immediate: true}
        tasks:
          made: {function: contexts:work, context_manager: contexts:transaction}
          shared: {function: contexts:work, context_manager: contexts:SHARED}
          given:
            function: contexts:given
            context_manager: {object: contexts:connection, as_argument: true}
        schedules:
          given_on_a_cron:
            function: contexts:given
            cron: "0 3 * * *"
            args: [7]
            context_manager: {object: contexts:connection, as_argument: true}
        """
    )
    import contexts  # type: ignore[import-not-found]

    with jobrunner.load(config) as app:
        assert app.tasks.made(1).get() == 1
        assert app.tasks.shared(2).get() == 2
        assert app.tasks.given(3).get() == 3
        # The entered value comes first, before the schedule's own arguments.
        assert app.schedules.given_on_a_cron.call_local() == 7
    assert contexts.EVENTS == [
        "enter",
        "work 1",
        "exit",
        "shared-enter",
        "work 2",
        "shared-exit",
        "given the connection 3",
        "given the connection 7",
    ]
