"""A load given the previous load of its file (a hot reload) takes over the definitions that
did not change, and still reports exactly what a fresh load reports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner.config import load_config
from jobrunner.errors import ConfigError

FILE = """
version: 1
defaults: {retries: 1}
tasks:
  add: {function: sample_tasks:add, retries: 2}
  echo: {function: sample_tasks:echo}
schedules:
  nightly: {task: add, cron: "0 3 * * *"}
  hourly: {function: sample_tasks:echo, cron: "0 * * * *", args: [1]}
"""


def test_unchanged_definitions_keep_their_objects(write_config: Callable[..., Path]) -> None:
    path = write_config(FILE)
    first = load_config(path)
    write_config(FILE.replace("0 * * * *", "30 * * * *"))
    second = load_config(path, previous=first)
    old, new = first.config, second.config
    assert new.tasks["add"] is old.tasks["add"]
    assert new.tasks["echo"] is old.tasks["echo"]
    assert new.schedules["nightly"] is old.schedules["nightly"]
    assert str(new.schedules["hourly"].cron) == "30 * * * *"
    assert new.schedules["hourly"] == load_config(path).config.schedules["hourly"]


def test_a_value_of_another_type_is_checked_again(write_config: Callable[..., Path]) -> None:
    path = write_config(FILE)
    first = load_config(path)
    # Equal in Python (True == 1), not in YAML: the schema must see it.
    write_config(FILE.replace("retries: 2", "retries: true"))
    with pytest.raises(ConfigError) as reused:
        load_config(path, previous=first)
    with pytest.raises(ConfigError) as fresh:
        load_config(path)
    assert [i.format() for i in reused.value.issues] == [i.format() for i in fresh.value.issues]
    assert "tasks.add.retries" in reused.value.issues[0].format()


def test_definitions_moved_by_an_added_line_have_their_new_position(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(FILE)
    first = load_config(path)
    write_config(FILE.replace("version: 1", "version: 1\ntimezone: UTC\n# a comment"))
    second = load_config(path, previous=first)
    fresh = load_config(path).config
    for name, task in second.config.tasks.items():
        assert task.location == fresh.tasks[name].location
        assert task.location.line == first.config.tasks[name].location.line + 2
    for name, schedule in second.config.schedules.items():
        assert schedule == fresh.schedules[name]
        assert schedule.location == fresh.schedules[name].location


def test_a_changed_section_elsewhere_rebuilds_every_definition(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(FILE)
    first = load_config(path)
    write_config(FILE.replace("defaults: {retries: 1}", "defaults: {retries: 4}"))
    second = load_config(path, previous=first).config
    assert second.tasks["echo"].options.retries == 4
    assert second.schedules["hourly"].options.retries == 4
    assert second.tasks["add"].options.retries == 2


def test_a_schedule_follows_the_task_it_names(write_config: Callable[..., Path]) -> None:
    path = write_config(FILE)
    first = load_config(path)
    write_config(FILE.replace("retries: 2", "retries: 3"))
    second = load_config(path, previous=first).config
    assert second.schedules["nightly"].options.retries == 3
    assert second.schedules["hourly"] is first.config.schedules["hourly"]


def test_errors_of_a_changed_definition_keep_their_positions(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(FILE)
    first = load_config(path)
    write_config(FILE.replace("0 * * * *", "0 25 * * *"))
    with pytest.raises(ConfigError) as reused:
        load_config(path, previous=first)
    [issue] = reused.value.issues
    assert issue.format().startswith(f"{path}:8:")
    assert "hour '25' is not valid" in issue.message
    assert issue.hint is not None


def test_warnings_are_reported_at_every_load(write_config: Callable[..., Path]) -> None:
    text = FILE.replace(
        "version: 1\n", "version: 1\ninstances:\n  files: {backend: file, path: queue}\n"
    )
    path = write_config(text)
    first = load_config(path)
    assert first.warnings
    write_config(text.replace("0 * * * *", "5 * * * *"))
    second = load_config(path, previous=first)
    assert [w.format() for w in second.warnings] == [w.format() for w in first.warnings]


def test_a_missing_function_is_reported_though_its_definition_is_unchanged(
    write_config: Callable[..., Path], project: Path
) -> None:
    path = write_config(FILE)
    first = load_config(path)
    (project / "sample_tasks.py").write_text("def add(a, b):\n    return a + b\n")
    sys.modules.pop("sample_tasks", None)
    with pytest.raises(ConfigError) as error:
        load_config(path, previous=first)
    assert {i.path for i in error.value.issues} == {
        "tasks.echo.function",
        "schedules.hourly.function",
    }


def test_definitions_written_alike_are_each_reported(write_config: Callable[..., Path]) -> None:
    # The schema checks one of several definitions written alike: errors must still name
    # every one, and a bad name among them is still found.
    path = write_config(
        """
        version: 1
        tasks:
          a: {function: sample_tasks:add, retries: -1}
          b: {function: sample_tasks:add, retries: -1}
          c: {function: sample_tasks:add}
          2d: {function: sample_tasks:add}
        """
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert [(i.line, i.path) for i in error.value.issues] == [
        (3, "tasks.a.retries"),
        (4, "tasks.b.retries"),
        (6, "tasks.2d"),
    ]
