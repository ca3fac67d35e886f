"""The ``events:`` key of an instance: defaults per backend, and clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner.config import EventsConfig, load_config
from jobrunner.errors import ConfigError
from tests.support.processes import cli


def test_history_is_on_by_default_where_the_storage_can_keep_it(
    write_config: Callable[..., Path],
) -> None:
    config = load_config(
        write_config(
            """
            version: 1
            instances:
              lite: {backend: sqlite}
              mem: {backend: memory}
              custom_log:
                backend: sqlite
                filename: other.db
                events:
                  log: events.jsonl
                  history: {keep: 500, max_age: 2d}
                  capture_args: true
            """
        )
    ).config
    assert config.instances["lite"].events == EventsConfig(history=True)
    assert config.instances["mem"].events == EventsConfig(history=False)
    custom = config.instances["custom_log"].events
    assert custom.history is True
    assert (custom.keep, custom.max_age) == (500, 2 * 86400.0)
    assert custom.log == str(config.folder / "events.jsonl")
    assert custom.capture_args is True
    assert custom.redis is False


@pytest.mark.parametrize(
    ("events", "where", "message"),
    [
        ("{histroy: true}", "5:14", "instances.default.events.histroy: unknown key"),
        ("{history: {keep: 0}}", "5:30", "instances.default.events.history.keep: 0 is less"),
        ("{redis: true}", "5:21", "instances.default.events.redis: redis: true publishes"),
    ],
)
def test_bad_events_settings_are_reported_where_they_stand(
    write_config: Callable[..., Path], events: str, where: str, message: str
) -> None:
    path = write_config(
        f"""
        version: 1
        instances:
          default:
            backend: sqlite
            events: {events}
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.format().startswith(f"{path}:{where}: {message}")
    if "histroy" not in events:
        return  # one case through the command line is enough: it prints the same
    result = cli("validate", str(path))
    assert result.returncode == 1
    assert f"{path}:{where}: {message}" in result.stdout  # validate reports on stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_file_backend_cannot_keep_a_history(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        instances:
          default:
            backend: file
            path: queue
            delivery: at_most_once
            events: {history: true}
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    assert issue.path == "instances.default.events.history"
    assert issue.message == "the file backend cannot keep a history"
    assert (issue.line, issue.column) == (7, 23)
