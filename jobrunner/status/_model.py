"""What a status snapshot holds: frozen dataclasses, one per thing looked at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobrunner.events import Event


@dataclass(frozen=True)
class InFlight:
    """Tasks one consumer holds, and when its lease runs out (None: no lease recorded)."""

    consumer: str
    count: int
    lease_expires: datetime | None


@dataclass(frozen=True)
class LiveConsumer:
    """A consumer's heartbeat record; ``live``: heartbeat within ``CONSUMER_TTL`` seconds."""

    id: str
    host: str
    pid: int
    workers: int
    worker_type: str
    started: datetime
    heartbeat: datetime
    live: bool


@dataclass(frozen=True)
class InstanceStatus:
    name: str
    backend: str
    target: str  # where the storage is, password masked
    queue_depth: int
    scheduled: int
    in_flight: tuple[InFlight, ...] = ()
    consumers: tuple[LiveConsumer, ...] = ()
    dead_letters: int | None = None  # None: the instance keeps none (at-most-once)
    last_event: Event | None = None
    history: bool = False


@dataclass(frozen=True)
class ScheduleStatus:
    name: str
    instance: str
    enabled: bool
    paused: bool
    paused_by: str | None
    last_fire: Event | None  # fired, caught-up or skipped
    last_outcome: Event | None  # how its last run ended
    next_fire: datetime | None
