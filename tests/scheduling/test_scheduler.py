"""The scheduler driven tick by tick with an injected clock, on real storage.

Each test loads a jobs.yaml (so schedules are registered exactly as ``jobrunner run`` registers
them), builds jobrunner's scheduler on the instance's huey with a fake clock, runs its real loop
and looks at what reached the queue.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from huey.storage import SqliteStorage

import jobrunner
from jobrunner.app import App
from jobrunner.scheduling import jitter_offset
from jobrunner.scheduling._claims import claim_owner, claimed_ticks
from jobrunner.scheduling._scheduler import WAKE_MARGIN
from tests.support.fake_clock import FakeClock, make_scheduler, run_until


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def config_text(schedules: str, backend: str = "backend: sqlite\n    filename: queue.db") -> str:
    return f"""
version: 1
instances:
  main:
    {backend}
schedules:
{schedules}
"""


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Iterator[Callable[..., App]]:
    """Write a config with ``schedules`` on one SQLite instance and load it (closed after)."""
    apps: list[App] = []

    def _load(schedules: str, backend: str = "backend: sqlite\n    filename: queue.db") -> App:
        path = write_config(config_text(schedules, backend))
        app = jobrunner.load(path)
        apps.append(app)
        return app

    yield _load
    for app in apps:
        app.close()


EVERY_MINUTE = """
  tick:
    function: sample_tasks:echo
    cron: "* * * * *"
"""


# On the minute ------------------------------------------------------------------------------


@pytest.mark.parametrize("second", [0.2, 17.0, 40.0, 59.9])
def test_started_mid_minute_it_fires_right_after_the_next_minute_starts(
    load: Callable[..., App], second: float
) -> None:
    app = load(EVERY_MINUTE)
    clock = FakeClock(utc(2026, 5, 4, 12, 0) + timedelta(seconds=second))
    scheduler = make_scheduler(app.huey("main"), clock, interval=1)
    found = run_until([scheduler], clock, utc(2026, 5, 4, 12, 3, 30))
    ticks = [utc(2026, 5, 4, 12, m) for m in (1, 2, 3)]
    if second < 10:  # started within the grace period: its own minute still fires
        ticks.insert(0, utc(2026, 5, 4, 12, 0))
    assert [f.at.replace(second=0, microsecond=0) for f in found] == ticks
    for f in found[-3:]:
        offset = (f.at - f.at.replace(second=0, microsecond=0)).total_seconds()
        assert 0 <= offset <= WAKE_MARGIN + 1e-6


def test_no_drift_over_hours(load: Callable[..., App]) -> None:
    app = load(EVERY_MINUTE)
    clock = FakeClock(utc(2026, 5, 4, 9, 0, 33))
    scheduler = make_scheduler(app.huey("main"), clock, interval=60)
    found = run_until([scheduler], clock, utc(2026, 5, 4, 15, 0, 30))
    assert len(found) == 6 * 60
    offsets = [(f.at - f.at.replace(second=0, microsecond=0)).total_seconds() for f in found]
    assert max(offsets) <= WAKE_MARGIN + 1e-6
    assert [f.at.replace(second=0, microsecond=0) for f in found] == [
        utc(2026, 5, 4, 9, 1) + timedelta(minutes=i) for i in range(360)
    ]


def test_sleeps_until_the_minute_between_eta_reads(load: Callable[..., App]) -> None:
    app = load(EVERY_MINUTE)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 40, 250000))
    scheduler = make_scheduler(app.huey("main"), clock, interval=60)
    scheduler.loop()
    # One sleep, straight to a few milliseconds after the next minute.
    assert clock.now() == utc(2026, 5, 4, 12, 1) + timedelta(seconds=WAKE_MARGIN)


def test_a_wall_clock_step_is_followed(load: Callable[..., App]) -> None:
    app = load(EVERY_MINUTE)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 2))
    scheduler = make_scheduler(app.huey("main"), clock, interval=1)
    first = run_until([scheduler], clock, utc(2026, 5, 4, 12, 1, 30))
    clock.set(utc(2026, 5, 4, 12, 0, 59))  # NTP stepped the clock back 31 s
    again = run_until([scheduler], clock, utc(2026, 5, 4, 12, 2, 30))
    assert [f.at.strftime("%H:%M") for f in first + again] == ["12:00", "12:01", "12:02"]


# Time zones and DST -------------------------------------------------------------------------

DST_CASES = [
    # zone, cron, start (UTC), end (UTC), expected fire ticks (UTC)
    pytest.param(
        "Europe/Berlin",
        "30 2 * * *",
        utc(2026, 3, 28, 0, 0, 2),
        utc(2026, 3, 31, 0, 0),
        [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)],
        id="berlin-spring-forward-fixed-time-runs-at-the-end-of-the-gap",
    ),
    pytest.param(
        "Europe/Berlin",
        "30 2 * * *",
        utc(2026, 10, 24, 0, 0, 2),
        utc(2026, 10, 27, 0, 0),
        [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        id="berlin-fall-back-fixed-time-runs-once-at-the-first-occurrence",
    ),
    pytest.param(
        "Europe/Berlin",
        "*/30 * * * *",
        utc(2026, 10, 24, 23, 50, 2),
        utc(2026, 10, 25, 2, 10),
        [utc(2026, 10, 25, 0, 0) + timedelta(minutes=30 * i) for i in range(5)],
        id="berlin-fall-back-interval-keeps-real-spacing",
    ),
    pytest.param(
        "America/New_York",
        "0 2 * * *",
        utc(2026, 3, 7, 12, 0, 2),
        utc(2026, 3, 10, 12, 0),
        [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 0), utc(2026, 3, 10, 6, 0)],
        id="new-york-spring-forward-02:00-does-not-exist",
    ),
    pytest.param(
        "America/New_York",
        "30 1 * * *",
        utc(2026, 10, 31, 12, 0, 2),
        utc(2026, 11, 2, 12, 0),
        [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        id="new-york-fall-back-01:30-once",
    ),
    pytest.param(
        "America/New_York",
        "0 * * * *",
        utc(2026, 11, 1, 4, 30, 2),
        utc(2026, 11, 1, 8, 30),
        [utc(2026, 11, 1, h, 0) for h in (5, 6, 7, 8)],
        id="new-york-fall-back-hourly-runs-every-real-hour",
    ),
    pytest.param(
        "Australia/Lord_Howe",
        "15 2 * * *",
        utc(2026, 10, 3, 12, 0, 2),
        utc(2026, 10, 5, 12, 0),
        # 02:00 -> 02:30 on 4 October: 02:15 does not exist; it runs at 02:30 (15:30 UTC).
        [utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)],
        id="lord-howe-30-minute-spring-forward",
    ),
    pytest.param(
        "Australia/Lord_Howe",
        "45 1 * * *",
        utc(2026, 4, 4, 12, 0, 2),
        utc(2026, 4, 6, 12, 0),
        # 02:00 -> 01:30 on 5 April: 01:45 happens twice; it runs at the first (14:45 UTC).
        [utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)],
        id="lord-howe-30-minute-fall-back",
    ),
]


@pytest.mark.parametrize(("tz", "cron", "start", "end", "expected"), DST_CASES)
def test_time_zones_and_daylight_saving(
    load: Callable[..., App],
    tz: str,
    cron: str,
    start: datetime,
    end: datetime,
    expected: list[datetime],
) -> None:
    app = load(f"""
  job:
    function: sample_tasks:echo
    cron: "{cron}"
    timezone: {tz}
""")
    clock = FakeClock(start)
    found = run_until([make_scheduler(app.huey("main"), clock)], clock, end)
    assert [f.at.replace(second=0, microsecond=0) for f in found] == expected


def test_the_file_and_instance_time_zone_defaults_apply(
    write_config: Callable[..., Path],
) -> None:
    path = write_config("""
version: 1
timezone: Asia/Tokyo
instances:
  main: {backend: sqlite, filename: q.db}
  berlin: {backend: sqlite, filename: b.db, timezone: Europe/Berlin}
schedules:
  tokyo_nine:
    function: sample_tasks:echo
    cron: "0 9 * * *"
    instance: main
  berlin_nine:
    function: sample_tasks:echo
    cron: "0 9 * * *"
    instance: berlin
""")
    with jobrunner.load(path) as app:
        clock = FakeClock(utc(2026, 7, 1, 0, 0, 2))
        schedulers = [make_scheduler(app.huey(n), clock) for n in ("main", "berlin")]
        found = run_until(schedulers, clock, utc(2026, 7, 1, 12, 0))
    assert [(f.name, f.at.strftime("%H:%M")) for f in found] == [
        ("tokyo_nine", "00:00"),
        ("berlin_nine", "07:00"),
    ]


# Exactly once across runners ----------------------------------------------------------------


def _runners(load: Callable[..., App], schedules: str, count: int, backend: str) -> list[App]:
    return [load(schedules, backend) for _ in range(count)]


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres", "file"])
def test_three_runners_fire_each_tick_once(
    load: Callable[..., App], backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        lines = "backend: sqlite\n    filename: queue.db"
    elif backend == "file":
        lines = "backend: file\n    path: queue-files"
    elif backend == "redis":
        lines = f"backend: redis\n    url: {request.getfixturevalue('redis_url')}"
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        lines = f"backend: postgres\n    dsn: {dsn}\n    name: q{uuid.uuid4().hex[:8]}"
    apps = _runners(load, EVERY_MINUTE, 3, lines)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    schedulers = [make_scheduler(app.huey("main"), clock) for app in apps]
    found = run_until(schedulers, clock, utc(2026, 5, 4, 12, 10, 30))
    assert [f.at.strftime("%H:%M") for f in found] == [f"12:{m:02d}" for m in range(1, 11)]
    # Each tick has exactly one owner in storage.
    owners = {tick for name, tick in claimed_ticks(apps[0].huey("main").storage) if name == "tick"}
    assert len(owners) == 10


def test_when_one_runner_dies_the_others_keep_firing(load: Callable[..., App]) -> None:
    apps = _runners(load, EVERY_MINUTE, 2, "backend: sqlite\n    filename: queue.db")
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    first, second = (make_scheduler(app.huey("main"), clock) for app in apps)
    both = run_until([first, second], clock, utc(2026, 5, 4, 12, 3, 30))
    alone = run_until([second], clock, utc(2026, 5, 4, 12, 6, 30))
    assert [f.at.strftime("%H:%M") for f in both + alone] == [f"12:0{m}" for m in range(1, 7)]


def test_a_failed_enqueue_gives_the_claim_back_and_is_retried(
    load: Callable[..., App], project: Path
) -> None:
    (project / "flaky_storage.py").write_text(FLAKY_STORAGE)
    app = load(
        EVERY_MINUTE,
        backend=f"backend: custom\n    storage_class: flaky_storage:FlakyStorage\n"
        f"    options: {{filename: {project / 'flaky.db'}}}",
    )
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(app.huey("main"), clock, interval=1)
    found = run_until([scheduler], clock, utc(2026, 5, 4, 12, 2, 30))
    # 12:01's first enqueue failed; the retry a second later enqueued it, once.
    assert [f.at.strftime("%H:%M:%S") for f in found] == ["12:01:01", "12:02:00"]
    owner = claim_owner(app.huey("main").storage, "tick", utc(2026, 5, 4, 12, 1))
    assert owner is not None


FLAKY_STORAGE = '''
from huey.storage import SqliteStorage


class FlakyStorage(SqliteStorage):
    """Refuses the first enqueue, as a storage outage would."""

    failed = False

    def enqueue(self, data, priority=None):
        if not FlakyStorage.failed:
            FlakyStorage.failed = True
            raise ConnectionError("storage unavailable")
        return super().enqueue(data, priority)
'''


# Jitter, disabled, plain huey periodic tasks, -n ---------------------------------------------


def test_jitter_delays_each_run_deterministically(load: Callable[..., App]) -> None:
    app = load("""
  spread:
    function: sample_tasks:echo
    cron: "*/10 * * * *"
    jitter: 45s
""")
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    found = run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 13, 0, 1))
    assert len(found) == 6
    delays = []
    for f in found:
        tick = f.at.replace(second=0, microsecond=0)
        assert f.eta is not None
        delay = (f.eta - tick).total_seconds()
        assert delay == pytest.approx(jitter_offset("spread", tick, 45.0), abs=1e-5)
        assert 0 <= delay < 45
        delays.append(delay)
    assert len(set(delays)) > 1  # spread out, not one fixed delay


def test_a_disabled_schedule_never_fires(load: Callable[..., App]) -> None:
    app = load(
        EVERY_MINUTE
        + """
  off:
    function: sample_tasks:echo
    cron: "* * * * *"
    enabled: false
"""
    )
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    found = run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 5, 30))
    assert {f.name for f in found} == {"tick"}


def test_without_periodic_nothing_fires(load: Callable[..., App]) -> None:
    app = load(EVERY_MINUTE)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    scheduler = make_scheduler(app.huey("main"), clock, periodic=False)
    assert run_until([scheduler], clock, utc(2026, 5, 4, 12, 5, 30)) == []


def test_plain_huey_periodic_tasks_fire_on_the_minute_once(load: Callable[..., App]) -> None:
    import huey as huey_module

    apps = _runners(load, EVERY_MINUTE, 2, "backend: sqlite\n    filename: queue.db")
    for app in apps:
        app.huey("main").periodic_task(huey_module.crontab(minute="*/2"), name="legacy")(noop)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    schedulers = [make_scheduler(app.huey("main"), clock) for app in apps]
    found = run_until(schedulers, clock, utc(2026, 5, 4, 12, 6, 30))
    assert [f.at.strftime("%H:%M") for f in found if f.name == "legacy"] == [
        "12:02",
        "12:04",
        "12:06",
    ]


def noop() -> None:
    return None


def test_due_ticks_are_logged(load: Callable[..., App], caplog: pytest.LogCaptureFixture) -> None:
    app = load(EVERY_MINUTE)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    with caplog.at_level(logging.INFO, logger="jobrunner.scheduler"):
        run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 1, 30))
    assert "schedule tick: tick 2026-05-04 12:01Z: enqueued task" in caplog.text


def test_old_claims_are_swept_hourly(load: Callable[..., App]) -> None:
    app = load(EVERY_MINUTE)
    storage = app.huey("main").storage
    assert isinstance(storage, SqliteStorage)
    clock = FakeClock(utc(2026, 5, 4, 12, 0, 30))
    run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 4, 12, 5, 30))
    # A day and a half later another runner starts: its first hour's sweep drops old claims.
    clock.set(utc(2026, 5, 5, 23, 58, 30))
    run_until([make_scheduler(app.huey("main"), clock)], clock, utc(2026, 5, 6, 0, 1, 30))
    left = sorted(tick for name, tick in claimed_ticks(storage) if name == "tick")
    assert left == [utc(2026, 5, 5, 23, 59), utc(2026, 5, 6, 0, 0), utc(2026, 5, 6, 0, 1)]
