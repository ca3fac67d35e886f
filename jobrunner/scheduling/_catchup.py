"""Which missed ticks a schedule runs again: its ``catchup`` policy over a gap.

A gap is the time between the last tick a schedule had decided (in this runner, or in the
instance's storage) and now: a start, a reload, a stall, a storage outage. ``none`` logs
how many ticks were missed and runs none; ``latest`` runs the last one; ``all`` runs each,
within ``catchup_window``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import takewhile
from typing import Any

from jobrunner.config.model import ScheduleConfig
from jobrunner.scheduling._firing import Plan, Run
from jobrunner.scheduling._firing import label as _label
from jobrunner.scheduling._ticks import fire_times, is_due
from jobrunner.timezones import zone

log = logging.getLogger("jobrunner.scheduler")

MINUTE = timedelta(minutes=1)
# Up to this long a gap, missed ticks are found minute by minute (see due_between).
_SHORT_GAP = timedelta(hours=6)
# catchup_window when catchup is latest/all and no window is given.
DEFAULT_CATCHUP_WINDOW = 86400.0
# Log at most this many missed ticks by count (catchup: none); beyond, "1000+".
_MISSED_COUNT_CAP = 1000


def floor_minute(moment: datetime) -> datetime:
    """The tick (whole UTC minute) that ``moment`` falls in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def catchup_window(config: ScheduleConfig) -> float:
    """How far back (seconds) missed ticks of ``config`` are caught up."""
    if config.catchup_window is not None:
        return config.catchup_window
    return DEFAULT_CATCHUP_WINDOW


def plan_catch_up(
    plan: Plan,
    task_class: Any,
    config: ScheduleConfig,
    done: datetime | None,
    upto: datetime,
    moment: datetime,
    recorded: datetime | None,
) -> None:
    """Plan ``config.catchup`` for the due ticks after the last decided one, up to ``upto``."""
    name = config.name
    if recorded is None:
        # Never decided anywhere: a new schedule has missed nothing.
        plan.tracking[name] = upto
        return
    after = recorded if done is None else max(recorded, done)
    if after >= upto:
        return
    tz = zone(config.timezone)
    if config.catchup == "none":
        missed = due_between(config, tz, after, upto)
        first = next(missed, None)
        if first is not None:
            count = 1 + sum(1 for _ in _cap(missed))
            shown = f"{count}+" if count > _MISSED_COUNT_CAP else str(count)
            log.warning(
                "schedule %s: %s tick(s) from %s missed while no runner fired it; "
                "not run (catchup: none)",
                name,
                shown,
                _label(first),
            )
    else:
        oldest = moment - timedelta(seconds=catchup_window(config))
        start = max(after, _ceil_minute(oldest) - MINUTE)
        ticks = list(due_between(config, tz, start, upto))
        if config.catchup == "latest":
            ticks = ticks[-1:]
        plan.runs.extend(Run(task_class, config, t, caught_up=True) for t in ticks)
    plan.advance[name] = upto


def due_between(
    config: ScheduleConfig, tz: tzinfo, after: datetime, last: datetime
) -> Iterator[datetime]:
    """The ticks in ``(after, last]`` at which ``config`` is due, in order."""
    if last - after <= _SHORT_GAP:
        # A restart or a stall: a few hundred minutes are checked faster one by one than
        # fire_times() (which looks a day ahead before its first answer) finds the first.
        tick = floor_minute(after) + MINUTE
        while tick <= last:
            if is_due(config.cron, tz, tick):
                yield tick
            tick += MINUTE
        return
    yield from takewhile(lambda t: t <= last, fire_times(config.cron, tz, after))


def _cap(ticks: Iterator[datetime]) -> Iterator[datetime]:
    for index, tick in enumerate(ticks):
        if index >= _MISSED_COUNT_CAP:
            return
        yield tick


def _ceil_minute(moment: datetime) -> datetime:
    floor = floor_minute(moment)
    return floor if floor == moment else floor + MINUTE
