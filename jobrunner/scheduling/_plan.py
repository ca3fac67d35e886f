"""Previews of when schedules fire: what ``jobrunner plan`` and ``jobrunner list`` print.

Fire times come from :func:`~jobrunner.scheduling.fire_times`, whose every answer is checked with
:func:`~jobrunner.scheduling.is_due`, the very rule the scheduler applies each minute; the jitter
is the same :func:`~jobrunner.scheduling.jitter_offset` the scheduler delays runs by. A preview
therefore cannot disagree with what the scheduler does (``tests/scheduling`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from jobrunner.config.model import ScheduleConfig
from jobrunner.scheduling._describe import describe
from jobrunner.scheduling._jitter import jitter_offset
from jobrunner.scheduling._ticks import fire_times
from jobrunner.timezones import zone


@dataclass(frozen=True)
class PlannedRun:
    """One future firing: the tick (UTC), the same instant in the schedule's zone, the jitter."""

    tick: datetime
    local: datetime
    jitter: float

    @property
    def starts(self) -> datetime:
        """When the run becomes due in the queue: the tick plus its jitter (UTC)."""
        return self.tick + timedelta(seconds=self.jitter)


@dataclass(frozen=True)
class Preview:
    """A schedule and its next runs."""

    name: str
    cron: str
    timezone: str
    description: str
    enabled: bool
    jitter: float
    runs: tuple[PlannedRun, ...]


def planned_runs(schedule: ScheduleConfig, after: datetime, count: int) -> list[PlannedRun]:
    """The first ``count`` ticks strictly after ``after`` (aware) at which ``schedule`` fires.

    Fewer when the cron can fire fewer times (``0 0 30 2 *`` never fires). ``enabled`` is not
    looked at: a disabled schedule shows when it would fire.
    """
    tz = zone(schedule.timezone)
    return [
        PlannedRun(
            tick=tick,
            local=tick.astimezone(tz),
            jitter=jitter_offset(schedule.name, tick, schedule.jitter),
        )
        for tick in islice(fire_times(schedule.cron, tz, after), count)
    ]


def next_run(schedule: ScheduleConfig, after: datetime) -> PlannedRun | None:
    """The next firing of ``schedule`` after ``after``, or None if it never fires."""
    runs = planned_runs(schedule, after, 1)
    return runs[0] if runs else None


def preview(schedule: ScheduleConfig, after: datetime, count: int) -> Preview:
    """``schedule`` described, with its next ``count`` runs after ``after``."""
    return Preview(
        name=schedule.name,
        cron=str(schedule.cron),
        timezone=schedule.timezone,
        description=describe(schedule.cron),
        enabled=schedule.enabled,
        jitter=schedule.jitter,
        runs=tuple(planned_runs(schedule, after, count)),
    )


def now_utc() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
