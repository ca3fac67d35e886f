"""Tasks and schedules are registered under stable names with their configured options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import jobrunner
from jobrunner.factory import LazyFunction

CONFIG = """
version: 1
defaults:
  retries: 2
  retry_delay: 5s
instances:
  main: {backend: memory}
tasks:
  count_beans:
    function: sample_tasks:add
    retries: 3
    retry_delay: 10
    retry_backoff: 2
    priority: 10
    expires: 1h
    timeout: 30
  plain:
    function: sample_tasks:echo
  with_context:
    function: sample_tasks:echo
    context: true
schedules:
  nightly:
    function: sample_tasks:record
    cron: "0 3 * * *"
    args: [out.jsonl, nightly]
    kwargs: {k: v}
    retries: 1
  berlin_morning:
    task: count_beans
    cron: {minute: 0, hour: 9}
    timezone: Europe/Berlin
    args: [1, 2]
  never:
    function: sample_tasks:record
    cron: "* * * * *"
    enabled: false
"""


@pytest.fixture
def app(write_config: Callable[..., Path]) -> jobrunner.App:
    return jobrunner.load(write_config(CONFIG))


def test_tasks_are_registered_under_their_yaml_key(app: jobrunner.App) -> None:
    registry = app.huey("main")._registry._registry
    assert {
        "jobrunner.tasks.count_beans",
        "jobrunner.tasks.plain",
        "jobrunner.tasks.with_context",
    } <= set(registry)
    assert registry["jobrunner.tasks.count_beans"] is app.tasks.count_beans.task_class
    assert not any("sample_tasks" in key for key in registry)


def test_task_class_carries_the_configured_options(app: jobrunner.App) -> None:
    task_class = app.tasks.count_beans.task_class
    assert task_class.default_retries == 3
    assert task_class.default_retry_delay == 10
    assert task_class.default_retry_backoff == 2
    assert task_class.default_priority == 10
    assert task_class.default_expires == 3600
    assert task_class.default_timeout == 30
    assert task_class.context is False
    assert task_class.task_config.function == "sample_tasks:add"
    assert task_class.task_config is app.config.tasks["count_beans"]


def test_defaults_apply_to_tasks_that_do_not_override_them(app: jobrunner.App) -> None:
    task_class = app.tasks.plain.task_class
    assert (task_class.default_retries, task_class.default_retry_delay) == (2, 5)
    assert task_class.default_priority is None
    assert task_class.default_expires is None
    assert app.tasks.with_context.task_class.context is True


def test_a_message_carries_the_options(app: jobrunner.App) -> None:
    task = app.tasks.count_beans.s(1, 2)
    assert (task.retries, task.retry_delay, task.priority, task.expires, task.timeout) == (
        3,
        10,
        10,
        3600,
        30,
    )
    message = app.huey("main").deserialize_task(app.huey("main").serialize_task(task))
    assert app.huey("main")._registry.task_to_string(type(message)) == (
        "jobrunner.tasks.count_beans"
    )
    assert message.args == (1, 2)


def test_schedules_are_periodic_tasks_under_their_yaml_key(app: jobrunner.App) -> None:
    registry = app.huey("main")._registry
    periodic = {registry.task_to_string(t) for t in registry._periodic_tasks}
    assert periodic == {
        "jobrunner.schedules.nightly",
        "jobrunner.schedules.berlin_morning",
        "jobrunner.schedules.never",
    }
    nightly = app.schedules.nightly.task_class
    assert nightly.default_retries == 1
    assert nightly.schedule_config is app.config.schedules["nightly"]
    # A schedule naming a task takes that task's options.
    assert app.schedules.berlin_morning.task_class.default_priority == 10


def _due(app: jobrunner.App, when: datetime) -> set[str]:
    registry = app.huey("main")._registry
    return {registry.task_to_string(type(task)) for task in app.huey("main").read_periodic(when)}


def test_schedules_are_due_on_their_cron_in_their_zone(app: jobrunner.App) -> None:
    # huey asks with a naive UTC timestamp (utc: true, the default).
    assert _due(app, datetime(2024, 1, 15, 3, 0)) == {"jobrunner.schedules.nightly"}
    assert _due(app, datetime(2024, 1, 15, 3, 1)) == set()
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    assert _due(app, datetime(2024, 1, 15, 8, 0)) == {"jobrunner.schedules.berlin_morning"}
    assert _due(app, datetime(2024, 7, 15, 7, 0)) == {"jobrunner.schedules.berlin_morning"}
    assert _due(app, datetime(2024, 7, 15, 9, 0)) == set()


def test_producer_does_not_import_task_modules(app: jobrunner.App) -> None:
    assert "sample_tasks" not in sys.modules
    function = app.tasks.count_beans.func
    assert isinstance(function, LazyFunction)
    assert function.__module__ == "jobrunner.tasks"
    assert function(2, 3) == 5
    assert "sample_tasks" in sys.modules


def test_schedule_function_carries_its_args(app: jobrunner.App, project: Path) -> None:
    app.schedules.nightly.func()
    assert "nightly" in (project / "out.jsonl").read_text()
    assert '"kwargs": {"k": "v"}' in (project / "out.jsonl").read_text()
    assert app.schedules.berlin_morning.func() == 3


def test_two_apps_from_one_file_do_not_collide(write_config: Callable[..., Path]) -> None:
    config = write_config(CONFIG)
    first, second = jobrunner.load(config), jobrunner.load(config)
    assert first.huey("main") is not second.huey("main")
    assert first.tasks.plain.task_class is not second.tasks.plain.task_class
