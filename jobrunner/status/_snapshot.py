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

from jobrunner.config.model import Config
from jobrunner.errors import UnknownNameError
from jobrunner.events import Event, history_for
from jobrunner.status._instance import instance_status
from jobrunner.status._model import InstanceStatus, ScheduleStatus
from jobrunner.status._open import guarded, open_readonly
from jobrunner.status._schedule import schedule_status


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
        instances.append(instance_status(inst, app_huey, history, moment))
        for schedule in config.schedules.values():
            if schedule.instance == name:
                schedules.append(schedule_status(inst, schedule, app_huey, history, moment))
    return Status(taken_at=moment, instances=tuple(instances), schedules=tuple(schedules))


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
