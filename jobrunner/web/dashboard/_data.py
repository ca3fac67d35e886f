"""What each page shows, read from the configuration and the instances' storages.

Nothing here is computed twice: next runs come from ``scheduling._plan`` (what
``jobrunner plan`` prints), pause flags from ``scheduling._state``, in-flight
counts and dead letters from the delivery stores, runs from the event history.
A storage that cannot be reached makes its instance show the error (masked), not
the page fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import huey

from jobrunner.config.model import InstanceConfig, ScheduleConfig
from jobrunner.delivery import DeadLetter, open_message, secrets_of, short_task_name, store_for
from jobrunner.delivery._store import Store
from jobrunner.factory import safe_target
from jobrunner.scheduling._describe import describe
from jobrunner.scheduling._plan import planned_runs
from jobrunner.scheduling._state import ScheduleState
from jobrunner.web.dashboard._context import Dashboard

T = TypeVar("T")

#: Rows listed per page (queue, schedules, runs); more are reached with ``?page=``.
PAGE_SIZE = 100


@dataclass
class Consumer:
    id: str
    host: str
    pid: str
    in_flight: int


@dataclass
class InstanceView:
    name: str
    backend: str
    target: str
    pending: int | None = None
    scheduled: int | None = None
    in_flight: int | None = None
    dead_letters: int | None = None
    consumers: list[Consumer] = field(default_factory=list)
    error: str | None = None


@dataclass
class QueuedTask:
    instance: str
    id: str
    task: str
    eta: datetime | None
    revoked: bool


@dataclass
class ScheduleView:
    name: str
    instance: str
    target: str
    cron: str
    description: str
    timezone: str
    enabled: bool
    next_runs: list[datetime]
    paused: str | None
    last_tick: datetime | None
    error: str | None = None


def guarded(instance: InstanceConfig, action: Callable[[], T]) -> tuple[T | None, str | None]:
    """``action()``, or None and the reason when the storage fails (secrets masked)."""
    try:
        return action(), None
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        for secret in secrets_of(instance):
            text = text.replace(secret, "***")
        return None, f"cannot reach {safe_target(instance)} ({text})"


def shared(instance: InstanceConfig) -> bool:
    """Whether ``instance``'s storage is one runners share (not memory, not immediate)."""
    return not instance.immediate and instance.backend != "memory"


def store(app_huey: huey.Huey) -> Store | None:
    return store_for(app_huey.storage)


def consumer_parts(consumer: str) -> tuple[str, str]:
    """``host:pid:random`` (``delivery.new_consumer_id``) -> host and pid."""
    parts = consumer.rsplit(":", 2)
    return (parts[0], parts[1]) if len(parts) == 3 else (consumer, "?")


def instances(dash: Dashboard) -> list[InstanceView]:
    """Every instance with its counts and consumers (what the overview shows)."""
    config = dash.config
    hueys = dash.hueys()
    views = []
    for name, instance in config.instances.items():
        view = InstanceView(name, instance.backend, safe_target(instance))
        app_huey = hueys.get(name)
        if app_huey is not None and shared(instance):
            _, view.error = guarded(instance, partial(_count, app_huey, view))
        views.append(view)
    return views


def _count(app_huey: huey.Huey, view: InstanceView) -> None:
    storage = app_huey.storage
    view.pending = int(storage.queue_size())
    view.scheduled = int(storage.schedule_size())
    found = store(app_huey)
    if found is not None:
        found.setup()
        flight = found.in_flight()
        view.in_flight = sum(flight.values())
        view.dead_letters = len(found.dead_letters())
        view.consumers = [Consumer(c, *consumer_parts(c), n) for c, n in sorted(flight.items())]


def queue(dash: Dashboard, page: int = 0) -> tuple[list[QueuedTask], dict[str, str]]:
    """Pending then scheduled (eta) tasks of every instance, and the instances in error."""
    rows: list[QueuedTask] = []
    errors: dict[str, str] = {}
    hueys = dash.hueys()
    for name, instance in dash.config.instances.items():
        app_huey = hueys.get(name)
        if app_huey is None or not shared(instance):
            continue
        found, error = guarded(instance, partial(_queued, app_huey, name, page))
        if error:
            errors[name] = error
        rows.extend(found or [])
    return rows, errors


def _queued(app_huey: huey.Huey, instance: str, page: int) -> list[QueuedTask]:
    storage = app_huey.storage
    limit = PAGE_SIZE * (page + 1)
    raw = [*storage.enqueued_items(limit), *storage.scheduled_items(limit)]
    rows = []
    for data in raw[PAGE_SIZE * page : limit]:
        opened = open_message(app_huey, data)
        task = opened.task
        if task is None:
            rows.append(QueuedTask(instance, "?", short_task_name(opened.name), None, False))
            continue
        eta = task.eta.replace(tzinfo=UTC) if task.eta is not None else None
        revoked = bool(app_huey.is_revoked(task, peek=True))
        rows.append(QueuedTask(instance, task.id, _key(task.name), eta, revoked))
    return rows


def _key(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def schedules(
    dash: Dashboard, now: datetime, page: int = 0, only: str | None = None
) -> list[ScheduleView]:
    """Each schedule (a page of them, or ``only``) with next runs, pause and last tick."""
    config = dash.config
    chosen = [s for s in config.schedules.values() if only is None or s.name == only]
    chosen = chosen[PAGE_SIZE * page : PAGE_SIZE * (page + 1)]
    hueys = dash.hueys()
    views = []
    for schedule in chosen:
        instance = config.instances[schedule.instance]
        view = _schedule(schedule, now, 5 if only else 3)
        app_huey = hueys.get(schedule.instance)
        if app_huey is not None and shared(instance):
            state = ScheduleState(app_huey.storage)
            _, view.error = guarded(instance, partial(_state, state, view))
        views.append(view)
    return views


def _schedule(schedule: ScheduleConfig, now: datetime, count: int) -> ScheduleView:
    return ScheduleView(
        name=schedule.name,
        instance=schedule.instance,
        target=schedule.task or schedule.function,
        cron=str(schedule.cron),
        description=describe(schedule.cron),
        timezone=schedule.timezone,
        enabled=schedule.enabled,
        next_runs=[run.local for run in planned_runs(schedule, now, count)],
        paused=None,
        last_tick=None,
    )


def _state(state: ScheduleState, view: ScheduleView) -> None:
    pause = state.paused(view.name)
    if pause is not None:
        view.paused = f"since {pause.since:%Y-%m-%d %H:%M}Z by {pause.by}"
    view.last_tick = state.last_tick(view.name)


def dead_letters(dash: Dashboard) -> tuple[list[tuple[str, DeadLetter]], dict[str, str]]:
    """Every dead letter with its instance, newest first, and the instances in error."""
    found: list[tuple[str, DeadLetter]] = []
    errors: dict[str, str] = {}
    hueys = dash.hueys()
    for name, instance in dash.config.instances.items():
        app_huey = hueys.get(name)
        if app_huey is None or not shared(instance):
            continue
        kept = store(app_huey)
        if kept is None:
            continue
        letters, error = guarded(instance, partial(_letters, kept))
        if error:
            errors[name] = error
        found.extend((name, letter) for letter in letters or [])
    found.sort(key=lambda pair: pair[1].time, reverse=True)
    return found, errors


def _letters(kept: Store) -> list[DeadLetter]:
    kept.setup()
    return kept.dead_letters()


def runs(dash: Dashboard, **filters: Any) -> list[dict[str, Any]] | None:
    """Run records from the event history, newest first; None when nothing records them."""
    if dash.history is None:
        return None
    return [dict(r) for r in dash.history(limit=PAGE_SIZE, **filters)]


def per_minute(records: list[dict[str, Any]], now: float | None = None) -> list[tuple[int, int]]:
    """(runs, failures) per minute over the last hour, oldest first (the overview's chart)."""
    now = time.time() if now is None else now
    buckets = [[0, 0] for _ in range(60)]
    for record in records:
        age = now - float(record.get("ts") or 0)
        if 0 <= age < 3600:
            bucket = buckets[59 - int(age // 60)]
            bucket[0] += 1
            if record.get("status") not in ("complete", None):
                bucket[1] += 1
    return [(a, b) for a, b in buckets]


def mask_all(config: Any, lines: list[str]) -> list[str]:
    """``lines`` with every secret of every instance replaced by ``***``."""
    found = sorted(
        {s for i in config.instances.values() for s in secrets_of(i)}, key=len, reverse=True
    )
    masked = []
    for line in lines:
        for secret in found:
            line = line.replace(secret, "***")
        masked.append(line)
    return masked
