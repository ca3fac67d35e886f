"""Run-time state of schedules, kept in the instance's own storage.

Everything here lives in huey's key/value store (``put_data`` / ``peek_data`` /
``delete_data``), so it survives restarts and reloads and every runner sharing the storage sees
the same thing:

- **pause flags** set by ``jobrunner pause`` and removed by ``jobrunner resume``;
- the **last decided tick** of each schedule: every due tick up to it has been fired or skipped
  on purpose, so catch-up knows what was missed while no runner ran;
- **overlap markers**: the run of an ``overlap: skip`` schedule that is still queued or
  running, with an expiry (a lease) so that a run lost with a crashed worker stops blocking.
"""

from __future__ import annotations

import functools
import getpass
import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from huey.storage import BaseStorage

from jobrunner.batch import peek_many, put_greater_many, put_if_empty_many, put_many

PAUSED_PREFIX = "jobrunner:paused:"
LAST_PREFIX = "jobrunner:last:"
RUNNING_PREFIX = "jobrunner:running:"


@dataclass(frozen=True)
class Pause:
    """Who paused a schedule, and when (epoch seconds)."""

    at: float
    by: str

    @property
    def since(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


@dataclass(frozen=True)
class Marker:
    """The outstanding run of an ``overlap: skip`` schedule.

    ``state`` is ``queued`` (enqueued, or waiting for a retry) or ``running`` (a worker is
    executing it and renews ``expires`` while it does). Past ``expires`` (epoch seconds) the
    marker no longer blocks the next tick.
    """

    task_id: str
    tick: str
    state: str
    expires: float

    def active(self, now: float) -> bool:
        return now < self.expires


class ScheduleState:
    """Pause flags, last decided ticks and overlap markers of one instance's storage.

    ``clock`` returns the current time in epoch seconds; tests inject one.
    """

    def __init__(self, storage: BaseStorage, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.clock = clock

    # Pause -------------------------------------------------------------------------------

    def pause(self, name: str, by: str | None = None) -> bool:
        """Pause schedule ``name``; False when it was paused already (the flag is kept)."""
        value = _dump({"at": self.clock(), "by": by or who()})
        return bool(self.storage.put_if_empty(PAUSED_PREFIX + name, value))

    def resume(self, name: str) -> bool:
        """Resume schedule ``name``; False when it was not paused."""
        return bool(self.storage.delete_data(PAUSED_PREFIX + name))

    def paused(self, name: str) -> Pause | None:
        """The pause of schedule ``name``, or None when it is not paused."""
        data = _load(self.storage.peek_data(PAUSED_PREFIX + name))
        if data is None:
            return None
        return Pause(at=float(data.get("at", 0.0)), by=str(data.get("by", "?")))

    # Last decided tick --------------------------------------------------------------------

    def last_tick(self, name: str) -> datetime | None:
        """The latest tick of ``name`` decided by any runner, or None if none ever was."""
        return _parse_tick(_load(self.storage.peek_data(LAST_PREFIX + name)))

    def start_tracking(self, name: str, tick: datetime) -> bool:
        """Record ``tick`` as decided unless a tick is recorded already; True if it was written.

        A schedule seen for the first time has missed nothing: tracking starts here.
        """
        return bool(self.storage.put_if_empty(LAST_PREFIX + name, _tick_value(tick)))

    def advance(self, name: str, tick: datetime) -> None:
        """Record ``tick`` as decided, unless a later tick is recorded already
        (:meth:`advance_many` of one: a conditional write on PostgreSQL and SQLite; a read
        and a write elsewhere, where two runners racing can leave the earlier of two ticks a
        minute apart, and the claims, kept far longer, still stop that tick from firing
        twice)."""
        self.advance_many({name: tick})

    # Many schedules at once (one round trip each, jobrunner/batch/) -------------------------

    def last_ticks(self, names: Iterable[str]) -> dict[str, datetime]:
        """:meth:`last_tick` of each of ``names`` that has one."""
        raw = peek_many(self.storage, [LAST_PREFIX + n for n in names])
        found = {}
        for key, value in raw.items():
            tick = _parse_tick(_load(value))
            if tick is not None:
                found[key[len(LAST_PREFIX) :]] = tick
        return found

    def start_tracking_many(self, ticks: Mapping[str, datetime]) -> None:
        """:meth:`start_tracking` for each ``name: tick``."""
        put_if_empty_many(self.storage, {LAST_PREFIX + n: _tick_value(t) for n, t in ticks.items()})

    def advance_many(self, ticks: Mapping[str, datetime]) -> None:
        """:meth:`advance` for each ``name: tick``, in one conditional write where the backend
        has one: the recorded values (:func:`_tick_value`) sort in time order."""
        put_greater_many(self.storage, {LAST_PREFIX + n: _tick_value(t) for n, t in ticks.items()})

    def paused_many(self, names: Iterable[str]) -> dict[str, Pause]:
        """:meth:`paused` of each of ``names`` that is paused."""
        raw = peek_many(self.storage, [PAUSED_PREFIX + n for n in names])
        found = {}
        for key, value in raw.items():
            data = _load(value)
            if data is not None:
                found[key[len(PAUSED_PREFIX) :]] = Pause(
                    at=float(data.get("at", 0.0)), by=str(data.get("by", "?"))
                )
        return found

    def active_markers(self, names: Iterable[str]) -> dict[str, Marker]:
        """:meth:`active_marker` of each of ``names`` that has one."""
        raw = peek_many(self.storage, [RUNNING_PREFIX + n for n in names])
        now = self.clock()
        found = {}
        for key, value in raw.items():
            marker = _marker(_load(value))
            if marker is not None and marker.active(now):
                found[key[len(RUNNING_PREFIX) :]] = marker
        return found

    def set_markers(self, markers: Mapping[str, tuple[str, str, str, float]]) -> None:
        """:meth:`set_marker` for each ``name: (task_id, tick, state, lease)``."""
        now = self.clock()
        put_many(
            self.storage,
            {
                RUNNING_PREFIX + n: _dump(asdict(Marker(i, t, s, now + lease)))
                for n, (i, t, s, lease) in markers.items()
            },
        )

    # Overlap markers ----------------------------------------------------------------------

    def marker(self, name: str) -> Marker | None:
        """The marker of ``name`` (active or expired), or None."""
        return _marker(_load(self.storage.peek_data(RUNNING_PREFIX + name)))

    def active_marker(self, name: str) -> Marker | None:
        """The marker of ``name`` if it still blocks the next tick."""
        marker = self.marker(name)
        return marker if marker is not None and marker.active(self.clock()) else None

    def set_marker(self, name: str, task_id: str, tick: str, state: str, lease: float) -> Marker:
        """Mark run ``task_id`` of ``name`` as outstanding for ``lease`` seconds from now."""
        marker = Marker(task_id=task_id, tick=tick, state=state, expires=self.clock() + lease)
        self.storage.put_data(RUNNING_PREFIX + name, _dump(asdict(marker)))
        return marker

    def clear_marker(self, name: str, task_id: str | None = None) -> bool:
        """Remove the marker of ``name``; with ``task_id``, only if it is that run's marker.

        A run that outlived its lease must not remove the marker of the run fired after it.
        """
        if task_id is not None:
            marker = self.marker(name)
            if marker is None or marker.task_id != task_id:
                return False
        return bool(self.storage.delete_data(RUNNING_PREFIX + name))


def who() -> str:
    """``user@host``, recorded with a pause so ``jobrunner list`` can say who paused."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()}"


def _parse_tick(data: dict[str, Any] | None) -> datetime | None:
    if data is None or "tick" not in data:
        return None
    try:
        return datetime.fromisoformat(str(data["tick"])).astimezone(UTC)
    except ValueError:
        return None


def _marker(data: dict[str, Any] | None) -> Marker | None:
    if data is None:
        return None
    try:
        return Marker(
            task_id=str(data["task_id"]),
            tick=str(data["tick"]),
            state=str(data["state"]),
            expires=float(data["expires"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _tick_value(tick: datetime) -> bytes:
    # One format for every tick (UTC, "+00:00", seconds), so the bytes sort in time order.
    # Cached: a tick is recorded for every schedule due on it (10,000 at once, a fifth of
    # a first tick's decision); equal instants in other zones give the same bytes.
    return _dump({"tick": tick.astimezone(UTC).isoformat()})


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True).encode()


def _load(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, bytes | bytearray | memoryview):
        return None
    try:
        data = json.loads(bytes(raw))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
