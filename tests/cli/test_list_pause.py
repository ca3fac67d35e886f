"""``jobrunner list``, ``pause`` and ``resume``: state kept in the instance's real storage."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from jobrunner.cli import main
from jobrunner.scheduling._state import ScheduleState
from tests.support.processes import cli

CONFIG = """
version: 1
instances:
  main: {backend: sqlite, filename: queue.db}
  shared: {backend: redis, url: "REDIS"}
tasks:
  send_report:
    function: sample_tasks:echo
    instance: main
schedules:
  nightly:
    task: send_report
    cron: "0 3 * * *"
    timezone: Europe/Berlin
  heartbeat:
    function: sample_tasks:echo
    cron: "* * * * *"
    instance: shared
  old:
    function: sample_tasks:echo
    cron: "0 * * * *"
    instance: main
    enabled: false
"""


@pytest.fixture
def config(write_config: Callable[..., Path], redis_url: str) -> Path:
    return write_config(CONFIG.replace("REDIS", redis_url))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listing(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, dict[str, object]]:
    code, out, _ = run(capsys, "list", str(config), "--format", "json")
    assert code == 0
    return {s["name"]: s for s in json.loads(out)["schedules"]}


def test_list_shows_tasks_schedules_next_run_and_state(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "list", str(config))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Tasks (1)"
    assert "send_report  sample_tasks:echo  main" in out
    assert "Schedules (3)" in out
    nightly = next(line for line in lines if line.lstrip().startswith("nightly"))
    assert "at 03:00 every day" in nightly
    assert "Europe/Berlin" in nightly
    assert " 03:00 CE" in nightly  # next run, in the schedule's zone (CET or CEST)
    assert nightly.rstrip().endswith("active")
    old = next(line for line in lines if line.lstrip().startswith("old"))
    assert old.rstrip().endswith("disabled (enabled: false)")


def test_pause_and_resume_change_what_list_and_the_runners_see(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "pause", str(config), "nightly", "heartbeat")
    assert code == 0
    assert "paused nightly (instance main" in out
    assert "paused heartbeat (instance shared, redis://" in out
    states = listing(capsys, config)
    assert states["nightly"]["state"] == "paused"
    assert states["heartbeat"]["state"] == "paused"
    assert states["old"]["state"] == "disabled"
    # The flag is in each instance's own storage, where every runner reads it.
    with jobrunner.load(config) as app:
        assert ScheduleState(app.huey("main").storage).paused("nightly") is not None
        assert ScheduleState(app.huey("shared").storage).paused("heartbeat") is not None
        assert ScheduleState(app.huey("main").storage).paused("heartbeat") is None

    code, out, _ = run(capsys, "pause", str(config), "nightly")
    assert code == 0
    assert "nightly was already paused since" in out

    code, out, _ = run(capsys, "resume", str(config), "nightly")
    assert code == 0
    assert out.strip() == "resumed nightly: it fires again from its next tick"
    assert listing(capsys, config)["nightly"]["state"] == "active"
    code, out, _ = run(capsys, "resume", str(config), "nightly")
    assert out.strip() == "nightly was not paused"


def test_pause_unknown_schedule_changes_nothing_and_exits_1(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli("pause", str(config), "nightly", "hartbeat")
    assert result.returncode == 1
    assert "no schedule named 'hartbeat'" in result.stderr
    assert "did you mean 'heartbeat'?" in result.stderr
    assert listing(capsys, config)["nightly"]["state"] == "active"


def test_list_reports_unreachable_storage_as_unknown(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 refuses connections.
    path = write_config(CONFIG.replace("REDIS", "redis://127.0.0.1:1/0"))
    code, out, err = run(capsys, "list", str(path), "--format", "json")
    assert code == 0
    states = {s["name"]: s["state"] for s in json.loads(out)["schedules"]}
    assert states == {"nightly": "active", "heartbeat": "unknown", "old": "disabled"}
    assert "instance shared: cannot reach its storage redis://127.0.0.1:1/0" in err
    code, _, _ = run(capsys, "pause", str(path), "heartbeat")
    assert code == 1


def test_list_without_state_does_not_touch_storage(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(CONFIG.replace("REDIS", "redis://127.0.0.1:1/0"))
    code, out, err = run(capsys, "list", str(path), "--no-state", "--format", "json")
    assert code == 0
    assert "storage" not in err
    states = {s["name"]: s["state"] for s in json.loads(out)["schedules"]}
    # Not read, so not known: a paused schedule must not be reported active.
    assert states == {"nightly": "unknown", "heartbeat": "unknown", "old": "disabled"}
    code, out, _ = run(capsys, "list", str(path), "--no-state")
    assert "unknown (--no-state: not read)" in out
