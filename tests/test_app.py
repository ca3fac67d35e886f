"""The Python API: ``jobrunner.load()``, task handles, instances, immediate mode, bind()."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import huey
import pytest

import jobrunner

CONFIG = """
version: 1
instances:
  main: {backend: sqlite, filename: main.db}
  fast: {backend: memory}
tasks:
  add: {function: sample_tasks:add, instance: main}
  echo: {function: sample_tasks:echo, instance: fast}
  fail: {function: sample_tasks:fail, instance: fast}
schedules:
  tick: {function: sample_tasks:record, instance: main, cron: "* * * * *", args: [t.jsonl]}
"""


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(CONFIG)


def test_handles_by_attribute_by_key_and_as_a_mapping(config: Path) -> None:
    with jobrunner.load(config) as app:
        assert app.tasks.add is app.tasks["add"]
        assert sorted(app.tasks) == ["add", "echo", "fail"]
        assert len(app.tasks) == 3
        assert "echo" in app.tasks
        assert "nope" not in app.tasks
        assert app.tasks.get("add") is app.tasks.add
        assert list(app.schedules) == ["tick"]
        assert {"add", "echo", "fail"} <= set(dir(app.tasks))
        assert "add" in repr(app.tasks)
        assert app.tasks.add.huey is app.huey("main")
        assert app.tasks.echo.huey is app.huey("fast")


def test_misspelled_task_name_raises_with_the_known_names(config: Path) -> None:
    with jobrunner.load(config) as app:
        with pytest.raises(jobrunner.UnknownNameError) as caught:
            _ = app.tasks.ech
        assert str(caught.value) == (
            "no task named 'ech' in the configuration; did you mean 'echo'? "
            "known tasks: add, echo, fail"
        )
        assert caught.value.known == ["add", "echo", "fail"]
        with pytest.raises(LookupError):
            app.tasks["zzz"]
        assert app.tasks.get("zzz") is None
        with pytest.raises(jobrunner.UnknownNameError, match="known schedules: tick"):
            _ = app.schedules.tock


def test_unknown_attribute_is_also_an_attribute_error(config: Path) -> None:
    # getattr() with a default, hasattr(), pydoc and IPython rely on AttributeError.
    with jobrunner.load(config) as app:
        assert not hasattr(app.tasks, "__wrapped__")
        assert not hasattr(app.tasks, "nope")
        assert getattr(app.tasks, "nope", None) is None
        with pytest.raises(jobrunner.UnknownNameError, match="did you mean 'add'"):
            _ = app.tasks.ad


def test_huey_by_instance_name(config: Path) -> None:
    with jobrunner.load(config) as app:
        assert isinstance(app.huey("main"), huey.SqliteHuey)
        assert isinstance(app.huey("fast"), huey.MemoryHuey)
        assert dict(app.instances) == {"main": app.huey("main"), "fast": app.huey("fast")}
        with pytest.raises(jobrunner.UnknownNameError, match="known instances: fast, main"):
            app.huey("slow")
        # With several instances, the name is needed.
        with pytest.raises(jobrunner.UnknownNameError):
            app.huey()


def test_load_reports_config_errors(write_config: Callable[..., Path]) -> None:
    path = write_config("version: 1\ntasks:\n  t: {function: sample_tasks:add, retries: -1}\n")
    with pytest.raises(jobrunner.ConfigError) as caught:
        jobrunner.load(path)
    assert "tasks.t.retries" in str(caught.value)


def test_load_does_not_import_task_functions(write_config: Callable[..., Path]) -> None:
    path = write_config("version: 1\ntasks:\n  t: {function: not_a_module:thing}\n")
    with jobrunner.load(path) as app:
        assert "not_a_module" not in sys.modules
        assert app.tasks.t.s().name == "t"


def test_bind_reports_every_function_that_does_not_import(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          ok: {function: sample_tasks:add}
          gone: {function: not_a_module:thing}
        schedules:
          s: {function: sample_tasks:no_such_function, cron: "* * * * *"}
        """
    )
    with jobrunner.load(path) as app, pytest.raises(jobrunner.ConfigError) as caught:
        app.bind()
    text = caught.value.format()
    assert "jobs.yaml:4:3: tasks.gone.function: cannot import not_a_module:thing" in text
    assert (
        "jobs.yaml:6:3: schedules.s.function: cannot import sample_tasks:no_such_function" in text
    )
    assert [i.path for i in caught.value.issues] == ["tasks.gone.function", "schedules.s.function"]


def test_immediate_instance_runs_tasks_in_the_caller(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        instances:
          main: {backend: sqlite, immediate: true}
        tasks:
          add: {function: sample_tasks:add}
          fail: {function: sample_tasks:fail}
        """
    )
    with jobrunner.load(path) as app:
        assert app.huey().immediate
        assert app.tasks.add(2, 3).get() == 5
        with pytest.raises(huey.exceptions.TaskException, match="boom"):
            app.tasks.fail().get()


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_environment_variable_makes_every_instance_immediate(
    config: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JOBRUNNER_IMMEDIATE", value)
    with jobrunner.load(config) as app:
        assert app.huey("main").immediate
        assert app.huey("fast").immediate
        assert app.tasks.add(20, 22).get() == 42
        assert app.tasks.echo(1, k=2).get() == {"args": [1], "kwargs": {"k": 2}}


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_environment_variable_off(
    config: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JOBRUNNER_IMMEDIATE", value)
    with jobrunner.load(config) as app:
        assert not app.huey("main").immediate
        assert not app.huey("fast").immediate


def test_immediate_argument_wins_over_the_environment(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBRUNNER_IMMEDIATE", "1")
    with jobrunner.load(config, immediate=False) as app:
        assert not app.huey("main").immediate
    monkeypatch.delenv("JOBRUNNER_IMMEDIATE")
    with jobrunner.load(config, immediate=True) as app:
        assert app.huey("main").immediate


def test_schedule_and_revoke_on_a_queue_without_consumer(config: Path) -> None:
    with jobrunner.load(config) as app:
        result = app.tasks.add.schedule(args=(1, 2), delay=3600)
        # huey queues it; a consumer moves it to the schedule until it is due.
        assert app.huey("main").pending_count() == 1
        result.revoke()
        assert result.is_revoked()
        result.restore()
        assert not result.is_revoked()


def test_load_with_environ_mapping(write_config: Callable[..., Path], project: Path) -> None:
    path = write_config(
        "version: 1\ninstances:\n  main: {backend: sqlite, filename: '${DB_NAME}'}\n"
    )
    with jobrunner.load(path, environ={"DB_NAME": "from-env.db"}) as app:
        assert app.huey().storage.filename == str(project / "from-env.db")


def test_repr_names_the_file_and_instances(config: Path) -> None:
    with jobrunner.load(config) as app:
        assert repr(app) == f"<jobrunner.App {config} instances=['main', 'fast']>"
