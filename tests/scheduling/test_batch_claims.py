"""Batch claims: runners that lose a chunk's claim skip it, and fire what its winner left.

Driven tick by tick with a fake clock on real storage, as in ``test_scheduler.py``. A runner
that "stopped between the two claims" is played by writing the batch claim under another
owner before the scheduler's tick.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import jobrunner
from jobrunner.app import App
from jobrunner.scheduling._batch_claims import VERIFY_AFTER, batch_name
from jobrunner.scheduling._claims import claim, claim_owner, claimed_ticks
from jobrunner.scheduling._firing import Run
from jobrunner.scheduling._scheduler import JobRunnerScheduler
from tests.support.fake_clock import FakeClock, drain, make_scheduler, run_until

START = datetime(2026, 5, 4, 12, 0, 30, tzinfo=UTC)
TICK = datetime(2026, 5, 4, 12, 1, tzinfo=UTC)
NAMES = [f"s{i:02d}" for i in range(12)]


def _schedules(names: list[str]) -> str:
    return "".join(f"  {n}: {{function: sample_tasks:echo, cron: '* * * * *'}}\n" for n in names)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    kind = request.param
    if kind == "sqlite":
        return "backend: sqlite\n    filename: queue.db"
    if kind == "redis":
        return f"backend: redis\n    url: {request.getfixturevalue('redis_url')}"
    dsn = request.getfixturevalue("postgres_dsn")
    return f"backend: postgres\n    dsn: {dsn}\n    name: q{uuid.uuid4().hex[:8]}"


@pytest.fixture
def load(write_config: Callable[..., Path]) -> Iterator[Callable[[list[str], str], App]]:
    apps: list[App] = []

    def _load(names: list[str], backend: str) -> App:
        text = f"version: 1\ninstances:\n  main:\n    {backend}\nschedules:\n{_schedules(names)}"
        app = jobrunner.load(write_config(text, f"jobs-{len(apps)}.yaml"))
        apps.append(app)
        return app

    yield _load
    for app in apps:
        app.close()


def _runs(scheduler: JobRunnerScheduler, names: list[str], tick: datetime) -> list[Run]:
    classes = {c.schedule_config.name: c for c in scheduler._periodic_classes()}
    return [Run(classes[n], classes[n].schedule_config, tick, caught_up=False) for n in names]


ALL_BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "redis", "postgres"], indirect=True)


@ALL_BACKENDS
def test_runners_split_the_tick_by_batch_and_claim_only_the_runs_they_fire(
    load: Callable[[list[str], str], App], backend: str
) -> None:
    apps = [load(NAMES, backend) for _ in range(3)]
    clock = FakeClock(START)
    schedulers = [make_scheduler(app.huey("main"), clock) for app in apps]
    found = run_until(schedulers, clock, TICK + timedelta(seconds=30))
    assert Counter(f.name for f in found) == Counter(NAMES)
    storage = apps[0].huey("main").storage
    claims = [name for name, tick in claimed_ticks(storage) if tick == TICK]
    assert sorted(n for n in claims if not n.startswith("~")) == NAMES
    # One batch (12 schedules are one chunk), claimed once, by the runner that fired it.
    assert len([n for n in claims if n.startswith("~batch-")]) == 1
    losers = [s for s in schedulers if not s.batches._won]
    assert len(losers) == 2
    # The losers will check the batch's runs once, after VERIFY_AFTER seconds.
    assert all(len(s.batches._unverified) == 1 for s in losers)


@ALL_BACKENDS
def test_runs_that_the_batch_winner_never_claimed_are_fired_by_a_loser_later(
    load: Callable[[list[str], str], App], backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = load(NAMES, backend)
    clock = FakeClock(START)
    scheduler = make_scheduler(app.huey("main"), clock, interval=1)
    storage = app.huey("main").storage
    # A runner won the batch of 12:01 and claimed the first four runs, then stopped.
    runs = _runs(scheduler, NAMES, TICK)
    assert claim(storage, batch_name(runs), TICK, "gone:1")
    for name in NAMES[:4]:
        assert claim(storage, name, TICK, "gone:1")

    with caplog.at_level(logging.INFO, logger="jobrunner.scheduler"):
        early = run_until([scheduler], clock, TICK + timedelta(seconds=VERIFY_AFTER - 1))
        assert early == []  # the batch is someone else's until it is checked
        late = run_until([scheduler], clock, TICK + timedelta(seconds=VERIFY_AFTER + 5))

    assert sorted(f.name for f in late) == NAMES[4:]
    assert all(f.at >= TICK + timedelta(seconds=VERIFY_AFTER) for f in late)
    mine = [claim_owner(storage, name, TICK) for name in NAMES]
    assert mine[:4] == ["gone:1"] * 4
    assert "gone:1" not in mine[4:]
    assert None not in mine
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "schedules s04, s05, s06 and 5 more: tick 2026-05-04 12:01Z: claimed as a batch by "
        "another runner, which did not claim these 8 run(s); firing them here"
    ]
    # Decided: the next minute is an ordinary one, fired by this runner alone.
    nxt = run_until([scheduler], clock, TICK + timedelta(seconds=90))
    assert sorted(f.name for f in nxt) == NAMES


def test_a_runner_retrying_its_own_batch_does_not_lose_it_to_itself(
    load: Callable[[list[str], str], App],
) -> None:
    app = load(NAMES, "backend: sqlite\n    filename: queue.db")
    clock = FakeClock(TICK + timedelta(seconds=0.01))
    scheduler = make_scheduler(app.huey("main"), clock)
    runs = _runs(scheduler, NAMES, TICK)
    assert scheduler.batches.claim(runs, TICK) is None  # won; then, say, the enqueue failed
    scheduler.fire(TICK, clock.now())
    assert sorted(t.task.name for t in drain(app.huey("main"), clock.now())) == sorted(NAMES)
    assert scheduler.batches._unverified == []


def test_runners_with_different_files_still_fire_each_run_once(
    load: Callable[[list[str], str], App],
) -> None:
    # A rolling update that reordered the file: the runners' batches differ, so both win one.
    lines = "backend: sqlite\n    filename: queue.db"
    old, new = load(NAMES, lines), load(NAMES[::-1], lines)
    clock = FakeClock(START)
    schedulers = [make_scheduler(a.huey("main"), clock) for a in (old, new)]
    found = run_until(schedulers, clock, TICK + timedelta(seconds=30))
    assert Counter(f.name for f in found) == Counter(NAMES)
    assert all(s.batches._won for s in schedulers)


def test_a_schedule_removed_before_the_check_is_not_fired(
    load: Callable[[list[str], str], App],
) -> None:
    app = load(NAMES, "backend: sqlite\n    filename: queue.db")
    clock = FakeClock(START)
    scheduler = make_scheduler(app.huey("main"), clock, interval=1)
    storage = app.huey("main").storage
    assert claim(storage, batch_name(_runs(scheduler, NAMES, TICK)), TICK, "gone:1")
    run_until([scheduler], clock, TICK + timedelta(seconds=1))
    # s00 leaves the registry (a reload removed it) before the check.
    registry = app.huey("main")._registry
    registry._periodic_tasks = [
        c for c in registry._periodic_tasks if c.schedule_config.name != "s00"
    ]
    late = run_until([scheduler], clock, TICK + timedelta(seconds=VERIFY_AFTER + 2))
    assert sorted(f.name for f in late) == NAMES[1:]
