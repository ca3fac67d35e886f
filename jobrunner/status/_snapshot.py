"""The status snapshot: "is it working?" for every instance and schedule of a config.

Read from the storages alone (no consumer needs to run): queue depth, scheduled
(eta) tasks, in-flight tasks by consumer with their lease expiry, live consumers
(their heartbeat records), dead letters, the last event; per schedule the last
fire and the last run's outcome (from the history), the next fire (the code
``jobrunner plan`` uses) and whether it is paused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import huey

from jobrunner.config.model import Config, InstanceConfig
from jobrunner.errors import UnknownNameError
from jobrunner.events import (
    CAUGHT_UP,
    CONSUMER_TTL,
    FIRED,
    OUTCOMES,
    SKIPPED,
    Event,
    History,
    HistoryQuery,
    history_for,
)
from jobrunner.status._open import guarded, open_readonly

_FIRES = frozenset({FIRED, CAUGHT_UP, SKIPPED})


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


@dataclass(frozen=True)
class Status:
    """One snapshot; ``as_dict()`` is what ``jobrunner status --format json`` prints."""

    taken_at: datetime
    instances: tuple[InstanceStatus, ...]
    schedules: tuple[ScheduleStatus, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = _plain(asdict(self, dict_factory=_dict_factory))
        return plain


def snapshot(config: Config, instance: str | None = None, now: datetime | None = None) -> Status:
    """The status of every instance of ``config`` (or of ``instance``) and their schedules.

    Raises :class:`~jobrunner.errors.StorageError` when a storage cannot be reached or
    does not exist; creates nothing.
    """
    if instance is not None and instance not in config.instances:
        raise UnknownNameError("instance", instance, config.instances)
    moment = now or datetime.now(UTC)
    instances: list[InstanceStatus] = []
    schedules: list[ScheduleStatus] = []
    for name, inst in config.instances.items():
        if (instance is not None and name != instance) or inst.immediate:
            continue
        if inst.backend == "memory":
            continue
        app_huey = open_readonly(inst)
        history = history_for(app_huey.storage)
        if history is not None and not guarded(inst, history.exists):
            history = None
        instances.append(_instance(inst, app_huey, history, moment))
        for schedule in config.schedules.values():
            if schedule.instance == name:
                schedules.append(_schedule(inst, schedule, app_huey, history, moment))
    return Status(taken_at=moment, instances=tuple(instances), schedules=tuple(schedules))


def _instance(
    inst: InstanceConfig, app_huey: huey.Huey, history: History | None, moment: datetime
) -> InstanceStatus:
    from jobrunner.delivery import store_for
    from jobrunner.factory import safe_target

    storage = app_huey.storage
    depth = guarded(inst, storage.queue_size)
    scheduled = guarded(inst, storage.schedule_size)
    store = store_for(storage) if inst.delivery == "at_least_once" else None
    in_flight: tuple[InFlight, ...] = ()
    dead: int | None = None
    if store is not None and guarded(inst, lambda: _has_store(storage)):
        counts = guarded(inst, store.in_flight)
        leases = guarded(inst, lambda: _leases(store))
        in_flight = tuple(
            InFlight(c, n, _utc(leases[c]) if c in leases else None)
            for c, n in sorted(counts.items())
            if n
        )
        dead = len(guarded(inst, store.dead_letters))
    elif store is not None:
        dead = 0
    consumers: tuple[LiveConsumer, ...] = ()
    last: Event | None = None
    if history is not None:
        now = moment.timestamp()
        consumers = tuple(
            LiveConsumer(
                r.id,
                r.host,
                r.pid,
                r.workers,
                r.worker_type,
                _utc(r.started),
                _utc(r.heartbeat),
                now - r.heartbeat <= CONSUMER_TTL,
            )
            for r in guarded(inst, history.consumers)
        )
        found = guarded(inst, lambda: history.query(HistoryQuery(limit=1)))
        last = found[0] if found else None
    return InstanceStatus(
        name=inst.name,
        backend=inst.backend,
        target=safe_target(inst),
        queue_depth=int(depth),
        scheduled=int(scheduled),
        in_flight=in_flight,
        consumers=consumers,
        dead_letters=dead,
        last_event=last,
        history=history is not None,
    )


def _schedule(
    inst: InstanceConfig,
    schedule: Any,
    app_huey: huey.Huey,
    history: History | None,
    moment: datetime,
) -> ScheduleStatus:
    from jobrunner.scheduling._plan import next_run
    from jobrunner.scheduling._state import ScheduleState

    pause = guarded(inst, lambda: ScheduleState(app_huey.storage).paused(schedule.name))
    last_fire = last_outcome = None
    if history is not None:
        fires = guarded(
            inst,
            lambda: history.query(HistoryQuery(schedule=schedule.name, statuses=_FIRES, limit=1)),
        )
        last_fire = fires[0] if fires else None
        ends = guarded(
            inst,
            lambda: history.query(HistoryQuery(schedule=schedule.name, statuses=OUTCOMES, limit=1)),
        )
        last_outcome = ends[0] if ends else None
    planned = next_run(schedule, moment)
    return ScheduleStatus(
        name=schedule.name,
        instance=inst.name,
        enabled=schedule.enabled,
        paused=pause is not None,
        paused_by=pause.by if pause is not None else None,
        last_fire=last_fire,
        last_outcome=last_outcome,
        next_fire=planned.starts if planned is not None else None,
    )


def _has_store(storage: Any) -> bool:
    """Whether a consumer ever created the in-flight tables (SQL) here."""
    if isinstance(storage, huey.storage.SqliteStorage):
        rows = storage.sql(
            "select 1 from sqlite_master where type = 'table' and name = 'lease'", results=True
        )
        return bool(rows)
    if isinstance(storage, huey.storage.PostgresStorage):
        prefix = storage.table_task.removesuffix("_task")
        rows = storage.sql("select to_regclass(%s)", (f"{prefix}_lease",), results=True)
        return rows[0][0] is not None
    return True


def _leases(store: Any) -> dict[str, float]:
    """Lease expiry (epoch seconds) of every consumer of ``store``'s queue."""
    storage = store.storage
    if isinstance(storage, huey.storage.RedisStorage):
        pairs = store.conn.zrange(store.leases, 0, -1, withscores=True)
        return {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in pairs}
    if isinstance(storage, huey.storage.PostgresStorage):
        sql = f"select consumer, extract(epoch from expires_at) from {store.lease} where queue = %s"
    else:
        sql = "select consumer, expires_at from lease where queue = ?"
    rows = storage.sql(sql, (storage.name,), results=True)
    return {str(c): float(e) for c, e in rows}


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _dict_factory(items: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(items)


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes as ISO 8601 UTC, events as their JSON objects."""
    if isinstance(value, dict):
        if "status" in value and "ts" in value and "data" in value:
            return Event(**value).as_dict()
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value
