"""What the scheduler logs per tick: a line per run for a few runs, one summary line for many
(each run's line then at DEBUG), and every run's event either way."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import jobrunner
from jobrunner import events
from jobrunner.app import App
from jobrunner.events import Event
from jobrunner.events._emitter import Emitter
from jobrunner.scheduling._firing import LOG_EACH_UP_TO, Run, summary
from jobrunner.scheduling._state import ScheduleState
from tests.support.fake_clock import FakeClock, make_scheduler, run_until

LOG = "jobrunner.scheduler"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Iterator[Callable[[int, str], App]]:
    """Load a config with ``count`` every-minute schedules (``extra`` lines after them)."""
    apps: list[App] = []

    def _load(count: int, extra: str = "") -> App:
        lines = ["version: 1", "instances:", "  main: {backend: sqlite, filename: q.db}"]
        lines.append("schedules:")
        lines += [
            f"  s{i:03d}: {{function: sample_tasks:echo, cron: '* * * * *'}}" for i in range(count)
        ]
        apps.append(jobrunner.load(write_config("\n".join(lines) + "\n" + extra)))
        return apps[-1]

    yield _load
    for app in apps:
        app.close()


def _scheduler_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG and r.levelno == level]


def test_a_few_runs_get_a_line_each_at_info(
    load: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    app = load(LOG_EACH_UP_TO)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    with caplog.at_level(logging.INFO, logger=LOG):
        run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 1, 30))
    lines = _scheduler_lines(caplog, logging.INFO)
    enqueued = [line for line in lines if ": tick 2026-05-04 12:01Z: enqueued task" in line]
    assert len(enqueued) == LOG_EACH_UP_TO
    assert not any(line.startswith("schedules: ") for line in lines)


def test_many_runs_get_one_summary_line_and_their_own_lines_at_debug(
    load: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    count = LOG_EACH_UP_TO + 1
    app = load(count, "  paused_one: {function: sample_tasks:echo, cron: '* * * * *'}\n")
    assert ScheduleState(app.huey("main").storage).pause("paused_one", by="ops@laptop")
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    seen: list[Event] = []
    emitter = Emitter(app.huey("main"), "main", None, capture_args=False)
    emitter.connect()  # as a runner does
    unsubscribe = events.subscribe(seen.extend)  # called with each batch
    with caplog.at_level(logging.DEBUG, logger=LOG):
        run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 1, 30))
    info = _scheduler_lines(caplog, logging.INFO)
    summaries = [line for line in info if line.startswith("schedules: ")]
    assert len(summaries) == 1
    assert summaries[0].startswith(f"schedules: {count} run(s) enqueued (tick 2026-05-04 12:01Z: ")
    assert "; 1 skipped (paused: paused_one); a line per run at DEBUG" in summaries[0]
    assert not any("enqueued task" in line or "skipped: paused" in line for line in info)
    debug = _scheduler_lines(caplog, logging.DEBUG)
    assert sum(": tick 2026-05-04 12:01Z: enqueued task" in line for line in debug) == count
    assert sum("paused_one: tick 2026-05-04 12:01Z skipped: paused" in line for line in debug) == 1
    # The events still tell each run.
    deadline = time.monotonic() + 30
    while len([e for e in seen if e.status == "fired"]) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    unsubscribe()
    emitter.disconnect()
    assert len({e.schedule for e in seen if e.status == "fired"}) == count
    assert [e.schedule for e in seen if e.status == "skipped"] == ["paused_one"]


def test_schedules_sharing_a_cron_in_different_zones_are_due_at_their_own_hour(
    load: Callable[..., App],
) -> None:
    """The due check is shared by schedules with the same cron and zone, not across zones."""
    app = load(
        0,
        "  utc_nine: {function: sample_tasks:echo, cron: '0 9 * * *'}\n"
        "  paris_nine: {function: sample_tasks:echo, cron: '0 9 * * *', "
        "timezone: Europe/Paris}\n"
        "  paris_nine_too: {function: sample_tasks:echo, cron: '0 9 * * *', "
        "timezone: Europe/Paris}\n",
    )
    clock = FakeClock(utc(2026, 5, 4, 6, 59, 30))
    found = run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 9, 0, 30))
    fired = {(f.at.hour, f.at.minute, f.name.rsplit(".", 1)[-1]) for f in found}
    names = {(hour, name) for hour, _minute, name in fired}
    assert {hour for hour, _ in names if "paris" in _} == {7}  # 09:00 in Paris, summer time
    assert {hour for hour, name in names if name.endswith("utc_nine")} == {9}
    assert len(found) == 3


def _run(name: str, outcome: str, *, caught_up: bool = False, lag: float = 0.0) -> Run:
    tick = utc(2026, 5, 4, 12, 0 if caught_up else 1)
    config: Any = SimpleNamespace(name=name)
    return Run(None, config, tick, caught_up, outcome, at=tick + timedelta(seconds=lag))


def test_the_summary_counts_each_outcome_and_the_lag_of_the_current_tick() -> None:
    runs = [
        _run("a", "enqueued", lag=0.25),
        _run("b", "enqueued", lag=0.75),
        _run("c", "enqueued", caught_up=True, lag=30.0),  # a missed tick: not a lag
        *(_run(f"p{i}", "paused") for i in range(5)),
        _run("o", "overlap"),
        _run("t", "taken"),
        _run("t2", "taken"),
    ]
    assert summary(runs) == (
        "schedules: 3 run(s) enqueued (tick 2026-05-04 12:01Z: 0.250s to 0.750s after the "
        "minute), 1 of them missed tick(s) caught up; 5 skipped (paused: p0, p1, p2 and 2 more); "
        "1 skipped (overlap: o); 2 taken by another runner; a line per run at DEBUG"
    )
    assert summary([]) == "schedules: nothing decided; a line per run at DEBUG"
