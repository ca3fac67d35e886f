"""Overlap, pause and catch-up, driven with an injected clock on real SQLite storage."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import jobrunner
from jobrunner.app import App
from jobrunner.scheduling._overlap import install_overlap_hooks
from jobrunner.scheduling._state import ScheduleState
from tests.support.fake_clock import Enqueued, FakeClock, make_scheduler, run_until

LOG = "jobrunner.scheduler"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Iterator[Callable[[str], App]]:
    """Load a config with ``schedules`` on one SQLite file; each call is another "runner"."""
    apps: list[App] = []

    def _load(schedules: str) -> App:
        path = write_config(
            "version: 1\ninstances:\n  main: {backend: sqlite, filename: queue.db}\n"
            "schedules:\n" + schedules
        )
        app = jobrunner.load(path)
        apps.append(app)
        return app

    yield _load
    for app in apps:
        app.close()


def minutes(found: list[Enqueued]) -> list[str]:
    return [f.at.strftime("%H:%M") for f in found]


def state_of(app: App, clock: FakeClock | None = None) -> ScheduleState:
    if clock is None:
        return ScheduleState(app.huey("main").storage)
    return ScheduleState(app.huey("main").storage, lambda: clock.now().timestamp())


# Overlap ------------------------------------------------------------------------------------

SKIP = """
  slow:
    function: sample_tasks:echo
    cron: "* * * * *"
    overlap: skip
"""


def test_overlap_skip_skips_while_the_previous_run_is_queued_and_logs_it(
    load: Callable[[str], App], caplog: pytest.LogCaptureFixture
) -> None:
    app = load(SKIP)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(app.huey("main"), clock)
    with caplog.at_level(logging.INFO, logger=LOG):
        found = run_until([scheduler], clock, utc(2026, 5, 4, 12, 3, 30))
    assert minutes(found) == ["12:01"]
    assert "tick 2026-05-04 12:02Z skipped (overlap: skip)" in caplog.text
    assert "is still queued" in caplog.text


def test_overlap_skip_fires_again_once_the_run_completes(load: Callable[[str], App]) -> None:
    app = load(SKIP)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(app.huey("main"), clock)
    [first] = run_until([scheduler], clock, utc(2026, 5, 4, 12, 2, 30))
    app.huey("main").execute(first.task)  # a worker runs it: executing, then complete
    assert state_of(app).marker("slow") is None
    later = run_until([scheduler], clock, utc(2026, 5, 4, 12, 4, 30))
    assert minutes(later) == ["12:03"]


def test_overlap_allow_fires_every_tick(load: Callable[[str], App]) -> None:
    app = load(SKIP.replace("overlap: skip", "overlap: allow"))
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    found = run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 4, 30))
    assert minutes(found) == ["12:01", "12:02", "12:03", "12:04"]


def test_overlap_skip_keeps_skipping_while_a_failed_run_waits_for_its_retry(
    load: Callable[[str], App],
) -> None:
    app = load("""
  flaky:
    function: sample_tasks:fail
    cron: "* * * * *"
    overlap: skip
    retries: 1
""")
    app_huey = app.huey("main")
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(app_huey, clock)
    [run] = run_until([scheduler], clock, utc(2026, 5, 4, 12, 1, 30))
    app_huey.execute(run.task)  # fails, one retry left: requeued
    marker = state_of(app, clock).active_marker("flaky")
    assert marker is not None
    assert marker.state == "queued"
    # 12:02 is skipped; the queue holds only the retry of 12:01's run.
    [retry] = run_until([scheduler], clock, utc(2026, 5, 4, 12, 2, 30))
    assert retry.task.id == run.task.id
    app_huey.execute(retry.task)  # fails for good
    assert state_of(app).marker("flaky") is None
    assert minutes(run_until([scheduler], clock, utc(2026, 5, 4, 12, 3, 30))) == ["12:03"]


@pytest.mark.parametrize(
    ("died_at", "fires"),
    [(utc(2026, 5, 4, 12, 1, 10), ["12:02"]), (utc(2026, 5, 4, 12, 1, 50), ["12:03"])],
    ids=["lease-expired-by-the-next-tick", "lease-expires-a-tick-later"],
)
def test_a_run_whose_worker_died_blocks_only_until_its_lease_expires(
    load: Callable[[str], App], died_at: datetime, fires: list[str]
) -> None:
    app = load(SKIP)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(app.huey("main"), clock, lease=30)
    [run] = run_until([scheduler], clock, utc(2026, 5, 4, 12, 1, 5))
    # A worker started the run (marker "running", 30 s lease), then was SIGKILLed: nobody
    # renews the lease and no "complete" ever comes.
    clock.set(died_at)
    state_of(app, clock).set_marker("slow", run.task.id, "12:01", "running", 30)
    found = run_until([scheduler], clock, utc(2026, 5, 4, 12, 3, 30))
    assert minutes(found)[:1] == fires


def test_a_running_run_keeps_its_marker_alive_past_the_lease(
    load: Callable[[str], App], project: Path
) -> None:
    out = project / "out.jsonl"
    app = load(f"""
  long:
    function: sample_tasks:sleep_and_record
    cron: "* * * * *"
    overlap: skip
    args: ["{out}", done, 3.5]
""")
    app_huey = app.huey("main")
    # Real clock; a lease of a second (renewed every third of it): a renewal would have to
    # be two thirds of a second late to lapse, which a loaded machine does not make.
    install_overlap_hooks(app_huey, lease=1.0)
    state = state_of(app)
    task = app.schedules.long.task_class()
    state.set_marker("long", task.id, "12:00", "queued", 60)
    worker = threading.Thread(target=app_huey.execute, args=(task,))
    worker.start()
    seen = []
    while worker.is_alive():
        marker = state.active_marker("long")
        seen.append(marker is not None and marker.state == "running")
        time.sleep(0.05)
    worker.join()
    # Three and a half leases long, never lapsed while running; gone once it completed.
    assert out.exists()
    assert seen.count(False) <= 2  # only before "executing" was emitted
    assert all(seen[2:])
    assert state.marker("long") is None


# Pause --------------------------------------------------------------------------------------

EVERY = """
  tick:
    function: sample_tasks:echo
    cron: "* * * * *"
"""


def test_pause_and_resume_apply_to_every_runner_and_survive_a_restart(
    load: Callable[[str], App], caplog: pytest.LogCaptureFixture
) -> None:
    runner_a, runner_b, cli = load(EVERY), load(EVERY), load(EVERY)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    schedulers = [make_scheduler(app.huey("main"), clock) for app in (runner_a, runner_b)]
    before = run_until(schedulers, clock, utc(2026, 5, 4, 12, 2, 30))
    assert state_of(cli).pause("tick", by="ops@laptop")
    with caplog.at_level(logging.INFO, logger=LOG):
        paused = run_until(schedulers, clock, utc(2026, 5, 4, 12, 4, 30))
        # A restarted runner still sees the pause.
        restarted = make_scheduler(load(EVERY).huey("main"), clock)
        paused += run_until([restarted], clock, utc(2026, 5, 4, 12, 5, 30))
    assert paused == []
    assert caplog.text.count("skipped: paused since") == 3  # logged once per tick, not per runner
    assert "by ops@laptop" in caplog.text
    assert state_of(cli).resume("tick")
    after = run_until([restarted, *schedulers], clock, utc(2026, 5, 4, 12, 7, 30))
    assert minutes(before) == ["12:01", "12:02"]
    assert minutes(after) == ["12:06", "12:07"]


def test_pause_and_resume_report_whether_anything_changed(load: Callable[[str], App]) -> None:
    state = state_of(load(EVERY))
    assert state.paused("tick") is None
    assert state.pause("tick", by="me") is True
    assert state.pause("tick", by="someone else") is False
    paused = state.paused("tick")
    assert paused is not None
    assert paused.by == "me"
    assert state.resume("tick") is True
    assert state.resume("tick") is False


# Catch-up -----------------------------------------------------------------------------------


def schedule(catchup: str, cron: str = "* * * * *", window: str | None = None) -> str:
    text = f'  job:\n    function: sample_tasks:echo\n    cron: "{cron}"\n    catchup: {catchup}\n'
    return text + (f"    catchup_window: {window}\n" if window else "")


def downtime(
    load: Callable[[str], App],
    schedules: str,
    up: tuple[datetime, datetime],
    back: tuple[datetime, datetime],
    runners: int = 1,
) -> tuple[list[Enqueued], list[Enqueued]]:
    """One runner runs during ``up``; then, after downtime, ``runners`` start during ``back``."""
    clock = FakeClock(up[0])
    before = run_until([make_scheduler(load(schedules).huey("main"), clock)], clock, up[1])
    clock.set(back[0])
    schedulers = [make_scheduler(load(schedules).huey("main"), clock) for _ in range(runners)]
    return before, run_until(schedulers, clock, back[1])


def test_catchup_none_runs_no_missed_tick_and_says_so(
    load: Callable[[str], App], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOG):
        before, after = downtime(
            load,
            schedule("none"),
            (utc(2026, 5, 4, 12, 0, 30), utc(2026, 5, 4, 12, 5, 30)),
            (utc(2026, 5, 4, 12, 30, 20), utc(2026, 5, 4, 12, 32, 30)),
        )
    assert minutes(before) == ["12:01", "12:02", "12:03", "12:04", "12:05"]
    assert minutes(after) == ["12:31", "12:32"]
    # 12:06 to 12:30 (the runner came back 20 s into 12:30, too late for it).
    assert "25 tick(s) from 2026-05-04 12:06Z missed" in caplog.text


def test_catchup_latest_runs_the_latest_missed_tick_once(
    load: Callable[[str], App], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG):
        before, after = downtime(
            load,
            schedule("latest", cron="0 3 * * *", window="3d"),
            (utc(2026, 5, 4, 2, 58, 30), utc(2026, 5, 4, 3, 1, 30)),
            (utc(2026, 5, 6, 5, 0, 20), utc(2026, 5, 6, 5, 3, 30)),
            runners=3,
        )
    assert [f.at.strftime("%m-%d %H:%M") for f in before] == ["05-04 03:00"]
    assert [f.at.strftime("%m-%d %H:%M:%S") for f in after] == ["05-06 05:00:20"]
    assert "missed tick 2026-05-06 03:00Z: enqueued" in caplog.text
    assert "2026-05-05 03:00Z" not in caplog.text


def test_catchup_all_runs_every_missed_tick_inside_the_window_once(
    load: Callable[[str], App], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG):
        _, after = downtime(
            load,
            schedule("all", window="10m"),
            (utc(2026, 5, 4, 12, 0, 30), utc(2026, 5, 4, 12, 5, 30)),
            (utc(2026, 5, 4, 12, 30, 20), utc(2026, 5, 4, 12, 31, 30)),
            runners=3,
        )
    caught_up = [f for f in after if f.at == utc(2026, 5, 4, 12, 30, 20)]
    assert len(caught_up) == 10  # 12:21 ... 12:30, each once across three runners
    for minute in range(21, 31):
        assert caplog.text.count(f"missed tick 2026-05-04 12:{minute}Z: enqueued") == 1
    assert "12:20Z" not in caplog.text
    assert minutes([f for f in after if f not in caught_up]) == ["12:31"]


def test_catchup_all_uses_the_default_window_of_a_day(load: Callable[[str], App]) -> None:
    _, after = downtime(
        load,
        schedule("all", cron="0 3 * * *"),
        (utc(2026, 5, 4, 2, 58, 30), utc(2026, 5, 4, 3, 1, 30)),
        (utc(2026, 5, 7, 2, 0, 20), utc(2026, 5, 7, 2, 1, 30)),
    )
    # 05-05 03:00 is more than a day before 05-07 02:00; 05-06 03:00 is inside.
    assert len(after) == 1


def test_a_new_schedule_has_nothing_to_catch_up(load: Callable[[str], App]) -> None:
    clock = FakeClock(utc(2026, 5, 4, 12, 30, 20))
    app = load(schedule("all", window="1h"))
    found = run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 31, 30))
    assert minutes(found) == ["12:31"]


def test_a_schedule_stopped_before_its_first_tick_catches_it_up(
    load: Callable[[str], App],
) -> None:
    # Seen at 01:00, runner down at 02:00, back at 04:00: the 03:00 tick was missed.
    _, after = downtime(
        load,
        schedule("latest", cron="0 3 * * *"),
        (utc(2026, 5, 4, 1, 0, 30), utc(2026, 5, 4, 2, 0, 0)),
        (utc(2026, 5, 4, 4, 0, 20), utc(2026, 5, 4, 4, 1, 0)),
    )
    assert len(after) == 1


def test_ticks_missed_while_paused_are_not_caught_up(load: Callable[[str], App]) -> None:
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    app = load(schedule("all", window="1h"))
    scheduler = make_scheduler(app.huey("main"), clock)
    run_until([scheduler], clock, utc(2026, 5, 4, 12, 2, 30))
    state_of(app).pause("job")
    assert run_until([scheduler], clock, utc(2026, 5, 4, 12, 10, 30)) == []
    state_of(app).resume("job")
    assert minutes(run_until([scheduler], clock, utc(2026, 5, 4, 12, 11, 30))) == ["12:11"]


def test_a_stalled_scheduler_catches_up_what_it_slept_through(load: Callable[[str], App]) -> None:
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(load(schedule("latest", window="1h")).huey("main"), clock)
    run_until([scheduler], clock, utc(2026, 5, 4, 12, 3, 30))
    clock.set(utc(2026, 5, 4, 12, 14, 20))  # the process was suspended for ten minutes
    found = run_until([scheduler], clock, utc(2026, 5, 4, 12, 15, 30))
    assert [f.at.strftime("%H:%M:%S") for f in found] == ["12:14:20", "12:14:20", "12:15:00"]


def test_jitter_of_a_caught_up_run_is_already_over(load: Callable[[str], App]) -> None:
    _, after = downtime(
        load,
        schedule("latest", cron="0 3 * * *") + "    jitter: 30s\n",
        (utc(2026, 5, 4, 2, 58, 30), utc(2026, 5, 4, 3, 1, 30)),
        (utc(2026, 5, 5, 4, 0, 20), utc(2026, 5, 5, 4, 1, 0)),
    )
    [run] = after
    assert run.eta is None  # the tick plus its jitter lies in the past: it runs now


def test_the_last_decided_tick_is_kept_in_storage(load: Callable[[str], App]) -> None:
    app = load(EVERY)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 3, 30))
    assert state_of(load(EVERY)).last_tick("tick") == utc(2026, 5, 4, 12, 3)
    assert state_of(app).last_tick("unknown") is None


def test_advance_never_moves_back(load: Callable[[str], App]) -> None:
    state = state_of(load(EVERY))
    state.advance("tick", utc(2026, 5, 4, 12, 3))
    state.advance("tick", utc(2026, 5, 4, 12, 1))
    assert state.last_tick("tick") == utc(2026, 5, 4, 12, 3)
    assert state.start_tracking("tick", utc(2026, 5, 4, 11, 0)) is False
    assert state.last_tick("tick") == utc(2026, 5, 4, 12, 3)
