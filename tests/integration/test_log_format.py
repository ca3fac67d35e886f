"""``jobrunner run --log-format json`` and ``logging:``: one JSON object per line, with context."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobrunner
from tests.support.processes import Runner

CONFIG = """
version: 1
LOGGING
instances:
  main: {backend: sqlite, filename: queue.db}
tasks:
  rec: {function: sample_tasks:record}
"""


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line of ``output`` as JSON (any line that is not one fails the test)."""
    entries = [json.loads(line) for line in output.splitlines()]
    assert all(isinstance(entry, dict) for entry in entries)
    return entries


@pytest.mark.parametrize(
    ("logging", "args"),
    [("", ("--log-format", "json")), ("logging: {format: json, level: info}", ())],
    ids=["command_line", "jobs_yaml"],
)
def test_json_logs_are_one_object_per_line_with_the_task_context(
    logging: str, args: tuple[str, ...], write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(CONFIG.replace("LOGGING", logging))
    with Runner(config, *args) as runner:
        runner.wait_for('"message": "watching ')
        with jobrunner.load(config) as app:
            result = app.tasks.rec(str(project / "out.jsonl"), "x")
            assert result.get(blocking=True, timeout=30) == "x"
        runner.wait_for(" executed in ")
        assert runner.stop(signal.SIGINT) == 0
    entries = json_lines(runner.output)
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
    [executing] = [e for e in entries if e["message"].startswith("Executing jobrunner.tasks.rec")]
    assert executing["level"] == "info"
    assert executing["logger"] == "huey"
    assert (executing["task"], executing["instance"]) == ("rec", "main")
    assert executing["id"] == result.id
    [started] = [e for e in entries if e["message"].startswith("instance main: sqlite")]
    assert started["instance"] == "main"
    assert entries[-1]["message"] == "stopped"


def test_the_command_line_wins_over_the_file_and_text_stays_the_default(
    write_config: Callable[..., Path],
) -> None:
    config = write_config(CONFIG.replace("LOGGING", "logging: {format: json, level: debug}"))
    with Runner(config, "--log-format", "text", "--log-level", "info") as runner:
        output = runner.wait_for(" INFO jobrunner: watching ")
        assert runner.stop(signal.SIGINT) == 0
    assert not output.lstrip().startswith("{")
    assert " DEBUG " not in runner.output
