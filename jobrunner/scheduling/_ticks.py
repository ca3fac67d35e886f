"""When a cron fires in real time: the per-minute firing rule and the fire-time iterator.

A *tick* is a whole UTC minute (an aware datetime with second == microsecond == 0). Its identity
is that UTC minute, which is what exactly-once claims and jitter key on later.

The cron is read against the local wall-clock time in ``tz`` (a ``zoneinfo.ZoneInfo`` or
``datetime.timezone.utc``). Where the wall clock is not a plain one-to-one copy of real time
(DST changes), these rules decide:

1. **Interval jobs** (``cron.is_interval``: every hour allowed) fire at every real UTC minute
   whose local wall time, ``tick.astimezone(tz)``, matches. Wall times skipped by a spring-forward
   gap never occur and so never fire; wall times repeated by a fall-back fire at both
   occurrences. ``*/n``-minute and hourly jobs therefore keep their real-time spacing.
2. **Fixed-time jobs** (hour field restricted) run once per matching wall time:

   - a wall time that occurs twice (fall back) fires only at its first occurrence
     (``fold == 0``); the repeat is skipped.
   - a wall time that never occurs (spring-forward gap) fires at the first real minute after the
     gap. That is the tick ``m`` where the clock jumped forward, i.e.
     ``local(m) > local(m - 1 min) + 1 min``; it fires when ``local(m)`` matches or any skipped
     wall minute in ``[local(m - 1 min) + 1 min, local(m))`` matches, and only once however many
     of the skipped minutes match.
"""

from __future__ import annotations

import calendar
import heapq
from collections.abc import Iterable, Iterator
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta, tzinfo

from ._cron import Cron

_UTC = UTC
_MINUTE = timedelta(minutes=1)
# No zone's UTC offset exceeds ±26 h, so a wall time on local date D happens in real time no
# earlier than D 00:00 minus this. Fire times found so far that lie before that bound for the
# next candidate date can be emitted safely, in order.
_OFFSET_BOUND = timedelta(hours=26)
# The longest month each month number can have (leap February), to spot crons like "0 0 30 2 *"
# that are valid for huey but can never fire.
_LONGEST_MONTH = {m: calendar.monthrange(2000, m)[1] for m in range(1, 13)}


def is_due(cron: Cron, tz: tzinfo, minute: datetime) -> bool:
    """Whether ``cron`` fires at the tick ``minute`` (an aware, whole UTC minute) in ``tz``.

    This is the firing rule the runtime scheduler applies once per minute; see the module
    docstring for how DST gaps and repeats are handled.
    """
    _require_tick(minute)
    # Arithmetic on a zone-aware datetime is wall-clock arithmetic; only UTC steps in real time.
    minute = minute.astimezone(_UTC)
    wall = _wall(minute, tz)
    if cron.is_interval:
        return cron.matches(wall)
    if cron.matches(wall) and _first_occurrence(wall, tz) == minute:
        return True
    expected = _wall(minute - _MINUTE, tz) + _MINUTE
    if wall > expected:
        return any(cron.matches(skipped) for skipped in _minutes_between(expected, wall))
    return False


def fire_times(cron: Cron, tz: tzinfo, after: datetime) -> Iterator[datetime]:
    """Yield every tick strictly after ``after`` (aware) at which ``is_due`` is true, in order.

    Infinite for a cron that can fire; empty for one that never can (e.g. ``0 0 30 2 *``).
    Only local dates whose day, month and weekday fields match are visited, and within them
    only the allowed hour/minute pairs, so sparse crons are cheap.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    after = after.astimezone(_UTC)
    start = _wall(after, tz).date()
    # Walls up to a couple of days before `after`'s local date can still happen after it when
    # the zone shifts; the `> after` filter drops the rest.
    start = max(date(MINYEAR, 1, 3), start) - timedelta(days=2)

    pending: list[datetime] = []
    queued: set[datetime] = set()
    try:
        for day in _matching_dates(cron, start):
            horizon = datetime.combine(day, time(), _UTC) - _OFFSET_BOUND
            while pending and pending[0] < horizon:
                tick = heapq.heappop(pending)
                queued.discard(tick)
                yield tick
            for tick in _day_fire_times(cron, tz, day):
                if tick > after and tick not in queued:
                    queued.add(tick)
                    heapq.heappush(pending, tick)
    except OverflowError:
        # Only reachable near datetime.max; the calendar simply ends there.
        pass
    while pending:
        yield heapq.heappop(pending)


def _day_fire_times(cron: Cron, tz: tzinfo, day: date) -> Iterator[datetime]:
    values = cron.values
    gap_ends: dict[tuple[datetime, datetime], datetime | None] = {}
    for hour in sorted(values.hours):
        for minute in sorted(values.minutes):
            wall = datetime.combine(day, time(hour, minute))
            for tick in _candidate_ticks(wall, tz, gap_ends):
                # The candidates are where this wall time could fire; is_due stays the single
                # authority so the iterator can never disagree with the per-minute rule.
                if is_due(cron, tz, tick):
                    yield tick


def _candidate_ticks(
    wall: datetime, tz: tzinfo, gap_ends: dict[tuple[datetime, datetime], datetime | None]
) -> Iterable[datetime]:
    first = wall.replace(tzinfo=tz, fold=0).astimezone(_UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(_UTC)
    existing = {t for t in (first, second) if _wall(t, tz) == wall}
    if existing:
        return existing
    # A skipped wall time: PEP 495 maps its two folds to either side of the transition, so the
    # jump lies in between. Many skipped walls share one gap; look each gap up once.
    lo, hi = min(first, second), max(first, second)
    if (lo, hi) not in gap_ends:
        gap_ends[lo, hi] = _jump_forward(tz, lo, hi)
    end = gap_ends[lo, hi]
    return () if end is None else (end,)


def _jump_forward(tz: tzinfo, lo: datetime, hi: datetime) -> datetime | None:
    """The first tick in (lo, hi] whose offset differs from lo's (binary search)."""
    lo = _floor_minute(lo)
    offset = lo.astimezone(tz).utcoffset()
    steps = int((hi - lo) / _MINUTE)
    low, high = 1, steps
    if steps < 1 or (lo + steps * _MINUTE).astimezone(tz).utcoffset() == offset:
        return None
    while low < high:
        mid = (low + high) // 2
        if (lo + mid * _MINUTE).astimezone(tz).utcoffset() == offset:
            low = mid + 1
        else:
            high = mid
    return lo + low * _MINUTE


def _matching_dates(cron: Cron, start: date) -> Iterator[date]:
    values = cron.values
    months = sorted(values.months)
    days = sorted(values.days)
    if not any(d <= _LONGEST_MONTH[m] for m in months for d in days):
        return
    for year in range(start.year, MAXYEAR + 1):
        for month in months:
            if (year, month) < (start.year, start.month):
                continue
            last = calendar.monthrange(year, month)[1]
            for dom in days:
                if dom > last:
                    break
                candidate = date(year, month, dom)
                if candidate >= start and candidate.isoweekday() % 7 in values.weekdays:
                    yield candidate


def _first_occurrence(wall: datetime, tz: tzinfo) -> datetime:
    return wall.replace(tzinfo=tz, fold=0).astimezone(_UTC)


def _minutes_between(start: datetime, end: datetime) -> Iterator[datetime]:
    current = start
    while current < end:
        yield current
        current += _MINUTE


def _wall(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _floor_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def _require_tick(minute: datetime) -> None:
    if minute.tzinfo is None or minute.utcoffset() is None:
        raise ValueError("a tick must be timezone-aware")
    if minute.second or minute.microsecond:
        raise ValueError(f"a tick must be a whole minute, got {minute.isoformat()}")
