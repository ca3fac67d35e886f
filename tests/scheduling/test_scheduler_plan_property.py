"""Property: the preview (``jobrunner plan``) is exactly what the scheduler fires.

For random crons, zones and start dates (many near daylight-saving transitions), the scheduler
runs its real loop minute by minute on a fake clock over a day, and the ticks it enqueued, with
their jitter, must equal the plan computed for the same start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import huey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobrunner.config.model import Location, ScheduleConfig, TaskOptions
from jobrunner.factory import register_schedule
from jobrunner.scheduling import Cron
from jobrunner.scheduling._catchup import due_between
from jobrunner.scheduling._plan import planned_runs
from jobrunner.timezones import zone
from tests.support.fake_clock import FakeClock, make_scheduler, run_until

# Each zone with its daylight-saving changes (UTC) in 2026, to start simulations near.
TRANSITIONS = {
    "UTC": [],
    "Asia/Kolkata": [],
    "Europe/Berlin": [datetime(2026, 3, 29, 1, 0), datetime(2026, 10, 25, 1, 0)],
    "America/New_York": [datetime(2026, 3, 8, 7, 0), datetime(2026, 11, 1, 6, 0)],
    "Australia/Lord_Howe": [datetime(2026, 4, 4, 15, 0), datetime(2026, 10, 3, 15, 30)],
    "America/St_Johns": [datetime(2026, 3, 8, 5, 30), datetime(2026, 11, 1, 4, 30)],
}
HORIZON = timedelta(hours=26)

crons = st.builds(
    lambda m, h, d, mon, dow: Cron(m, h, d, mon, dow),
    st.sampled_from(["*", "*/5", "*/20", "0", "30", "0,30", "15-45/10", "59", "7"]),
    # Mostly hours that DST changes skip or repeat (01:00-03:00 local in these zones).
    st.sampled_from(["*", "1", "2", "1-3", "*/2", "2,3", "0", "23", "8-18"]),
    st.sampled_from(["*", "*", "*", "1", "*/2", "15-31"]),
    st.sampled_from(["*", "*", "*", "*", "3,10", "11"]),
    st.sampled_from(["*", "*", "*", "0", "1-5", "6"]),
)


@st.composite
def zone_and_start(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone, and a start that is usually within a day before one of its DST changes."""
    tz = draw(st.sampled_from(sorted(TRANSITIONS)))
    if TRANSITIONS[tz] and draw(st.integers(0, 3)):
        base = draw(st.sampled_from(TRANSITIONS[tz]))
        start = base + timedelta(minutes=draw(st.integers(-25 * 60, 30)))
    else:
        start = draw(st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)))
    return tz, start.replace(second=0, microsecond=0, tzinfo=UTC)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cron=crons, zone_start=zone_and_start(), jitter=st.sampled_from([0.0, 0.0, 59.0]))
def test_plan_equals_what_the_scheduler_fires(
    cron: Cron, zone_start: tuple[str, datetime], jitter: float
) -> None:
    tz, start = zone_start
    config = ScheduleConfig(
        name="prop",
        function="sample_tasks:echo",
        instance="main",
        cron=cron,
        timezone=tz,
        options=TaskOptions(),
        location=Location("jobs.yaml", 1, 1),
        jitter=jitter,
    )
    # Started 30 s into a minute: that minute is past, for the plan and the scheduler alike.
    after = start + timedelta(seconds=30)
    end = start + HORIZON
    # huey's memory storage: the claims, state and queue are real, without a disk sync per
    # write over 1500 simulated minutes (test_scheduler.py covers the other backends).
    app_huey = huey.MemoryHuey("prop")
    register_schedule(app_huey, config)
    clock = FakeClock(after)
    fired = run_until([make_scheduler(app_huey, clock)], clock, end)

    plan = [r for r in planned_runs(config, after, 26 * 60 + 1) if r.tick < end]
    assert [f.at.replace(second=0, microsecond=0) for f in fired] == [r.tick for r in plan]
    for f, run in zip(fired, plan, strict=True):
        # The delay is the plan's jitter; one already over when the tick fired needs no eta.
        assert f.eta == (run.starts if run.starts > f.at else None)


@settings(max_examples=60, deadline=None)
@given(
    cron=crons,
    zone_start=zone_and_start(),
    minutes=st.integers(min_value=0, max_value=6 * 60),
)
def test_missed_ticks_are_the_plans_ticks(
    cron: Cron, zone_start: tuple[str, datetime], minutes: int
) -> None:
    # Catch-up finds missed ticks minute by minute over short gaps; they must be the plan's.
    tz, start = zone_start
    config = ScheduleConfig(
        name="prop",
        function="sample_tasks:echo",
        instance="main",
        cron=cron,
        timezone=tz,
        options=TaskOptions(),
        location=Location("jobs.yaml", 1, 1),
    )
    last = start + timedelta(minutes=minutes)
    missed = list(due_between(config, zone(tz), start, last))
    plan = [r.tick for r in planned_runs(config, start, minutes + 1) if r.tick <= last]
    assert missed == plan
