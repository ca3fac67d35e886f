"""Valid files: what the loading pipeline makes of variables, paths, defaults and references."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from jobrunner.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JR_PORT", "JR_URL", "JR_DB", "JR_FLAG", "JR_SECRET"):
        monkeypatch.delenv(name, raising=False)


REDIS = """
version: 1
instances:
  fast:
    backend: redis
    url: ${JR_URL:-redis://127.0.0.1:6379/0}
    port: ${JR_PORT:-6379}
    db: ${JR_DB:-0}
    blocking: ${JR_FLAG:-false}
    client_name: "${JR_PORT:-6379}"
    password: pa$$word-${JR_DB:-0}
    serializer:
      secret: ${JR_SECRET:-change-me}
"""


def test_whole_unquoted_reference_is_typed_from_its_default(
    write_config: Callable[..., Path],
) -> None:
    storage = load_config(write_config(REDIS)).config.instances["fast"].storage
    assert storage["port"] == 6379
    assert storage["db"] == 0
    assert storage["blocking"] is False
    assert storage["url"] == "redis://127.0.0.1:6379/0"


def test_whole_unquoted_reference_is_typed_from_the_environment(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JR_PORT", "7001")
    monkeypatch.setenv("JR_FLAG", "true")
    monkeypatch.setenv("JR_URL", "redis://cache:6380/2")
    instance = load_config(write_config(REDIS)).config.instances["fast"]
    assert instance.storage["port"] == 7001
    assert instance.storage["blocking"] is True
    assert instance.storage["url"] == "redis://cache:6380/2"


def test_quoted_and_embedded_references_stay_strings(write_config: Callable[..., Path]) -> None:
    instance = load_config(write_config(REDIS)).config.instances["fast"]
    assert instance.storage["client_name"] == "6379"
    # $$ is a literal $, and a reference inside a longer string is replaced as text.
    assert instance.storage["password"] == "pa$word-0"
    assert instance.serializer.secret == "change-me"


def test_environ_argument_replaces_the_process_environment(
    write_config: Callable[..., Path],
) -> None:
    loaded = load_config(write_config(REDIS), environ={"JR_PORT": "7002"})
    assert loaded.config.instances["fast"].storage["port"] == 7002


def test_default_instance_is_sqlite_beside_the_file(
    write_config: Callable[..., Path], project: Path
) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          add: {function: sample_tasks:add}
        """,
        name="orders.yaml",
    )
    config = load_config(path).config
    assert list(config.instances) == ["default"]
    default = config.instances["default"]
    assert default.backend == "sqlite"
    assert default.storage["filename"] == str(project.resolve() / "orders.db")
    assert config.tasks["add"].instance == "default"


def test_relative_paths_resolve_against_the_file_not_the_working_directory(
    write_config: Callable[..., Path], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "conf").mkdir()
    path = write_config(
        """
        version: 1
        instances:
          db:
            backend: sqlite
            filename: data/queue.db
          absolute:
            backend: sqlite
            filename: /var/tmp/queue.db
          files:
            backend: file
            path: spool
        """,
        name="conf/jobs.yaml",
    )
    monkeypatch.chdir("/")
    instances = load_config(path).config.instances
    folder = project.resolve() / "conf"
    assert instances["db"].storage["filename"] == str(folder / "data" / "queue.db")
    assert instances["absolute"].storage["filename"] == "/var/tmp/queue.db"
    assert instances["files"].storage["path"] == str(folder / "spool")


def test_defaults_apply_to_tasks_and_schedules_unless_overridden(
    write_config: Callable[..., Path],
) -> None:
    config = load_config(
        write_config(
            """
            version: 1
            defaults:
              retries: 2
              retry_delay: 1m30s
            tasks:
              plain: {function: sample_tasks:add}
              special: {function: sample_tasks:add, retries: 5, expires: 1h, timeout: 250ms}
            schedules:
              via_task:
                task: special
                cron: "0 3 * * *"
                args: [1, 2]
              direct:
                function: sample_tasks:echo
                cron: {minute: "*/15", hour: 8-18}
                priority: 3
            """
        )
    ).config
    plain, special = config.tasks["plain"].options, config.tasks["special"].options
    assert (plain.retries, plain.retry_delay, plain.expires) == (2, 90.0, None)
    assert (special.retries, special.retry_delay, special.expires) == (5, 90.0, 3600.0)
    assert special.timeout == 0.25
    via_task = config.schedules["via_task"]
    assert (via_task.function, via_task.options.retries, via_task.args) == (
        "sample_tasks:add",
        5,
        (1, 2),
    )
    direct = config.schedules["direct"]
    assert (direct.options.retries, direct.options.priority) == (2, 3)
    assert str(direct.cron) == "*/15 8-18 * * *"


def test_schedule_time_zone_falls_back_to_the_file_then_utc(
    write_config: Callable[..., Path],
) -> None:
    config = load_config(
        write_config(
            """
            version: 1
            timezone: Europe/Paris
            instances:
              main: {}
              berlin: {timezone: Europe/Berlin}
            schedules:
              own: {function: sample_tasks:echo, cron: "0 8 * * *", instance: main,
                    timezone: America/New_York}
              from_file: {function: sample_tasks:echo, cron: "0 8 * * *", instance: main}
              from_instance: {function: sample_tasks:echo, cron: "0 8 * * *", instance: berlin}
            """
        )
    ).config
    zones = {name: schedule.timezone for name, schedule in config.schedules.items()}
    assert zones == {
        "own": "America/New_York",
        "from_file": "Europe/Paris",
        "from_instance": "Europe/Berlin",
    }


def test_imports_are_not_checked_when_asked_not_to(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          later: {function: not_installed_yet.module:run}
        """
    )
    assert load_config(path, check_imports=False).config.tasks["later"].function == (
        "not_installed_yet.module:run"
    )
    with pytest.raises(jobrunner.ConfigError, match="no module named 'not_installed_yet'"):
        load_config(path)


def test_shared_backend_without_secret_is_a_warning_not_an_error(
    write_config: Callable[..., Path],
) -> None:
    loaded = load_config(
        write_config(
            """
            version: 1
            instances:
              fast:
                backend: redis
            """
        )
    )
    [warning] = loaded.warnings
    assert (warning.severity, warning.line, warning.column, warning.path) == (
        "warning",
        3,
        3,
        "instances.fast",
    )
    assert warning.message == "instance 'fast' uses redis without a message signing secret"
    assert warning.format().startswith(f"{loaded.config.path}:3:3: warning: instances.fast: ")


def test_file_backend_warns_that_it_runs_at_most_once(write_config: Callable[..., Path]) -> None:
    loaded = load_config(
        write_config(
            """
            version: 1
            instances:
              files: {backend: file, path: queue}
              quiet: {backend: file, path: queue2, delivery: at_most_once}
            """
        )
    )
    [warning] = loaded.warnings
    assert (warning.severity, warning.line, warning.path) == ("warning", 3, "instances.files")
    assert warning.message == (
        "instance 'files' runs at most once: the file backend has no at-least-once "
        "delivery (a crash loses the tasks it was running)"
    )
    assert warning.hint == "set delivery: at_most_once to say so, or use sqlite, redis or postgres"


def test_asking_at_least_once_of_a_custom_backend_is_an_error(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        """
        version: 1
        instances:
          mine:
            backend: custom
            storage_class: huey.storage:SqliteStorage
            delivery: at_least_once
        """
    )
    with pytest.raises(jobrunner.ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.column, issue.path) == (6, 15, "instances.mine.delivery")
    assert issue.message == "the custom backend has no at-least-once delivery"


def test_definitions_remember_where_they_are(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:add
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "* * * * *"
        """
    )
    config = load_config(path).config
    assert str(config.tasks["add"].location) == f"{path}:3:3"
    assert str(config.schedules["tick"].location) == f"{path}:6:3"


@pytest.mark.parametrize(
    "path",
    [ROOT / "jobs.yaml", *sorted((ROOT / "examples").glob("*.yaml"))],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_shipped_files_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("REDIS_URL", "DATABASE_URL", "JOBRUNNER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    loaded = load_config(path)
    assert loaded.warnings == []
    assert loaded.config.tasks or loaded.config.schedules


def test_there_are_at_least_four_example_files() -> None:
    names = {p.name for p in (ROOT / "examples").glob("*.yaml")}
    assert {"redis.yaml", "postgres.yaml", "multi-instance.yaml", "custom-storage.yaml"} <= names


def test_default_replaces_an_empty_variable_as_in_the_shell(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JR_PORT", "")
    monkeypatch.setenv("JR_PASSWORD", "")
    path = write_config(
        """
        version: 1
        instances:
          fast:
            backend: redis
            port: ${JR_PORT:-6380}
            password: ${JR_PASSWORD}
        """
    )
    storage = load_config(path).config.instances["fast"].storage
    assert storage["port"] == 6380
    assert storage["password"] == ""
