"""Schedules fire under ``jobrunner run`` and pass their ``args`` and ``kwargs``.

Every-minute crons: each test waits for the next minute (up to ~75 s), so they
are slow. Only the record files are asserted, not when in the minute they fire.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from tests.integration.helpers import wait_for_records
from tests.support.processes import Runner

pytestmark = pytest.mark.slow

# Long enough for the next minute boundary, plus a loaded machine's slack.
MINUTE_WAIT = 75


def test_schedules_with_args_fire_and_pass_them(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(
        """
        version: 1
        tasks:
          rec:
            function: sample_tasks:record
        schedules:
          by_function:
            function: sample_tasks:record
            cron: "* * * * *"
            args: [by_function.jsonl, from-function, 1, 2]
            kwargs: {colour: blue, size: 3}
          by_task:
            task: rec
            cron: {minute: "*"}
            args: [by_task.jsonl, from-task]
            kwargs: {nested: {list: [1, 2]}}
          same_function_other_args:
            task: rec
            cron: "* * * * *"
            args: [by_task_2.jsonl, other-args]
          off:
            function: sample_tasks:record
            cron: "* * * * *"
            args: [off.jsonl, fired]
            enabled: false
        """
    )
    started = time.time()
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        by_function = wait_for_records(project / "by_function.jsonl", 1, MINUTE_WAIT)[0]
        by_task = wait_for_records(project / "by_task.jsonl", 1, MINUTE_WAIT)[0]
        other = wait_for_records(project / "by_task_2.jsonl", 1, MINUTE_WAIT)[0]
        assert runner.stop(signal.SIGINT) == 0
    with jobrunner.load(config) as app:
        assert app.huey().pending_count() == 0
    # Due on the same ticks as the others, but disabled.
    assert not (project / "off.jsonl").exists()
    assert by_function["value"] == "from-function"
    assert by_function["args"] == [1, 2]
    assert by_function["kwargs"] == {"colour": "blue", "size": 3}
    assert by_task["value"] == "from-task"
    assert by_task["args"] == []
    assert by_task["kwargs"] == {"nested": {"list": [1, 2]}}
    assert other["value"] == "other-args"
    # The consumer ran them, within the minute after start.
    for record in (by_function, by_task, other):
        assert record["pid"] == runner.process.pid
        assert started <= record["time"] <= started + MINUTE_WAIT
