"""The JSON log lines: one object per record, context read off jobrunner's and huey's lines."""

from __future__ import annotations

import json
import logging
import sys

from jobrunner._logs import JsonFormatter


def line(name: str, msg: str, *args: object, exc: bool = False) -> dict[str, object]:
    info = None
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            info = sys.exc_info()
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, info)
    text = JsonFormatter().format(record)
    assert "\n" not in text
    entry: dict[str, object] = json.loads(text)
    return entry


def test_a_schedule_line_names_its_schedule() -> None:
    entry = line("jobrunner.scheduling", "schedule %s: %s: enqueued task %s", "tick", "t", "id1")
    assert entry["schedule"] == "tick"
    assert entry["message"] == "schedule tick: t: enqueued task id1"
    assert (entry["level"], entry["logger"]) == ("warning", "jobrunner.scheduling")


def test_an_instance_line_names_its_instance_and_huey_task_ids_are_kept() -> None:
    assert line("jobrunner", "instance %s: storage unreachable", "fast")["instance"] == "fast"
    assert line("huey", "Task %s timed out after %ss.", "9f1c", 3)["id"] == "9f1c"


def test_a_traceback_stays_inside_one_line() -> None:
    entry = line("jobrunner", "reload failed", exc=True)
    assert isinstance(entry["exception"], str)
    assert "RuntimeError: boom" in entry["exception"]
