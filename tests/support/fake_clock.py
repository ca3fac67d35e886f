"""Drive jobrunner's scheduler tick by tick with a fake clock instead of sleeping.

The scheduler sleeps with ``stop_flag.wait(seconds)``; :class:`FakeStopFlag` advances the
:class:`FakeClock` by that much instead, so ``loop()`` walks through hours in milliseconds while
every computation (when to wake, which tick it is, jitter, leases) is the real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jobrunner.scheduling._scheduler import JobRunnerScheduler


class FakeClock:
    """An aware UTC clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start.astimezone(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self.current = moment.astimezone(UTC)


class FakeStopFlag:
    """The consumer's stop flag, except that waiting moves the fake clock forward."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        seconds = 0.0 if timeout is None else timeout
        self.waits.append(seconds)
        self.clock.advance(seconds)
        return False

    def is_set(self) -> bool:
        return False

    def set(self) -> None:
        pass


@dataclass(frozen=True)
class Enqueued:
    """A run the scheduler enqueued: when (fake time), which schedule, and its huey task."""

    at: datetime
    name: str
    task: Any

    @property
    def eta(self) -> datetime | None:
        eta = self.task.eta
        return None if eta is None else eta.replace(tzinfo=UTC)


def make_scheduler(
    app_huey: Any,
    clock: FakeClock,
    *,
    interval: int = 60,
    periodic: bool = True,
    lease: float = 30.0,
) -> JobRunnerScheduler:
    """A scheduler on ``app_huey`` whose clock is ``clock``.

    The default interval of 60 s keeps hours of simulated time cheap: the loop wakes for the
    minute and for huey's eta read, both once a minute.
    """
    return JobRunnerScheduler(
        app_huey, FakeStopFlag(clock), interval, periodic, lease=lease, now=clock.now
    )


def drain(app_huey: Any, at: datetime) -> list[Enqueued]:
    """Take every message out of ``app_huey``'s queue (no worker runs them)."""
    found = []
    # A blocking read would wait read_timeout for nothing each time the queue is empty.
    if getattr(app_huey.storage, "blocking", False):
        app_huey.storage.blocking = False
    while (task := app_huey.dequeue()) is not None:
        found.append(Enqueued(at=at, name=task.name, task=task))
    return found


def run_until(
    schedulers: list[JobRunnerScheduler], clock: FakeClock, end: datetime
) -> list[Enqueued]:
    """Run the schedulers' loops in lockstep until ``clock`` reaches ``end``.

    Each round runs every scheduler once at the same fake instant (as runners on separate
    machines do at the start of a minute), then moves the clock by the shortest sleep any of them
    asked for. Returns what was enqueued, in order, stamped with the instant of the round.
    """
    found: list[Enqueued] = []
    hueys = {id(s.huey): s.huey for s in schedulers}
    while clock.now() < end:
        start = clock.now()
        sleeps = []
        for scheduler in schedulers:
            clock.set(start)
            scheduler.loop()
            sleeps.append((clock.now() - start).total_seconds())
        clock.set(start)
        for app_huey in hueys.values():
            found.extend(drain(app_huey, start))
        clock.set(start + timedelta(seconds=max(min(sleeps), 0.001)))
    return found
