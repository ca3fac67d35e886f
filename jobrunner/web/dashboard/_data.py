"""What each page shows, read from the configuration and the instances' storages.

Nothing here is computed twice: instance counts, in-flight leases, live consumers and
each schedule's last fire and outcome come from the status snapshot
(``jobrunner.status``, what ``jobrunner status`` prints), next runs from
``scheduling._plan`` (``jobrunner plan``), runs from the event history
(``app.history``), dead letters from the delivery stores. A storage that cannot
be reached makes its instance show the error (masked), not the page fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import huey

from jobrunner.config.model import Config, InstanceConfig, ScheduleConfig
from jobrunner.delivery import DeadLetter, open_message, secrets_of, store_for
from jobrunner.delivery._store import Store
from jobrunner.errors import JobRunnerError
from jobrunner.events import OUTCOMES, Event, History, history_for
from jobrunner.factory import safe_target
from jobrunner.scheduling._describe import describe
from jobrunner.scheduling._plan import planned_runs
from jobrunner.status import (
    InstanceStatus,
    ScheduleStatus,
    delivery_tables_exist,
    instance_status,
    schedule_status,
)
from jobrunner.timezones import zone
from jobrunner.web.dashboard._context import Dashboard

T = TypeVar("T")

#: Rows listed per page (queue, runs); more are reached with ``?page=``.
PAGE_SIZE = 50
#: Schedules per page: each costs three storage reads (pause, last fire, last outcome).
SCHEDULES_PER_PAGE = 25
#: Runs read for the overview's chart: a busier hour is drawn from its latest runs (the
#: caption says so), which keeps the page under 200 ms (benchmarks/dashboard_pages.py).
CHART_LIMIT = 1_500


@dataclass
class InstanceView:
    name: str
    backend: str
    target: str
    status: InstanceStatus | None = None
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
    status: ScheduleStatus | None = None
    error: str | None = None


def guarded(instance: InstanceConfig, action: Callable[[], T]) -> tuple[T | None, str | None]:
    """``action()``, or None and the reason when the storage fails (secrets masked)."""
    try:
        return action(), None
    except JobRunnerError as exc:  # the snapshot's StorageError, already masked
        return None, str(exc)
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


def history(app_huey: huey.Huey) -> History | None:
    """The instance's event history, if a runner ever wrote one."""
    found = history_for(app_huey.storage)
    return found if found is not None and found.exists() else None


def _each(dash: Dashboard) -> list[tuple[str, InstanceConfig, huey.Huey]]:
    hueys = dash.hueys()
    return [
        (name, instance, hueys[name])
        for name, instance in dash.config.instances.items()
        if name in hueys and shared(instance)
    ]


def instances(dash: Dashboard) -> list[InstanceView]:
    """Every instance with its counts, in-flight leases and consumers (the overview)."""
    now = datetime.now(UTC)
    views = []
    for name, instance, app_huey in _each(dash):
        view = InstanceView(name, instance.backend, safe_target(instance))
        view.status, view.error = guarded(instance, partial(_status, instance, app_huey, now))
        views.append(view)
    return views


def _status(instance: InstanceConfig, app_huey: huey.Huey, now: datetime) -> InstanceStatus:
    return instance_status(instance, app_huey, history(app_huey), now)


def queue(dash: Dashboard, page: int = 0) -> tuple[list[QueuedTask], dict[str, str]]:
    """Pending then scheduled (eta) tasks of every instance, and the instances in error."""
    rows: list[QueuedTask] = []
    errors: dict[str, str] = {}
    for name, instance, app_huey in _each(dash):
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
            rows.append(QueuedTask(instance, "?", key(opened.name), None, False))
            continue
        eta = task.eta.replace(tzinfo=UTC) if task.eta is not None else None
        revoked = bool(app_huey.is_revoked(task, peek=True))
        rows.append(QueuedTask(instance, task.id, key(task.name), eta, revoked))
    return rows


def key(name: str | None) -> str:
    """``jobrunner.tasks.send_report`` -> ``send_report`` (the YAML key); ``-`` when unknown."""
    return name.rsplit(".", 1)[-1] if name else "-"


def schedules(
    dash: Dashboard, now: datetime, page: int = 0, only: str | None = None
) -> list[ScheduleView]:
    """Each schedule (a page of them, or ``only``) with next runs, pause, last fire."""
    config = dash.config
    chosen = [s for s in config.schedules.values() if only is None or s.name == only]
    chosen = chosen[SCHEDULES_PER_PAGE * page : SCHEDULES_PER_PAGE * (page + 1)]
    hueys = dash.hueys()
    histories: dict[str, History | None] = {}
    views = []
    for schedule in chosen:
        instance = config.instances[schedule.instance]
        # The list shows the next run the snapshot computes; a schedule's page five.
        view = _schedule_view(schedule, now, 5 if only else 0)
        app_huey = hueys.get(schedule.instance)
        if app_huey is not None and shared(instance):
            if instance.name not in histories:
                histories[instance.name], _ = guarded(instance, partial(history, app_huey))
            look = partial(
                schedule_status, instance, schedule, app_huey, histories[instance.name], now
            )
            view.status, view.error = guarded(instance, look)
        if not view.next_runs:
            fire = view.status.next_fire if view.status is not None else None
            if fire is not None:
                view.next_runs = [fire.astimezone(zone(schedule.timezone))]
            else:
                view.next_runs = [run.local for run in planned_runs(schedule, now, 1)]
        views.append(view)
    return views


def _schedule_view(schedule: ScheduleConfig, now: datetime, count: int) -> ScheduleView:
    return ScheduleView(
        name=schedule.name,
        instance=schedule.instance,
        target=schedule.task or schedule.function,
        cron=str(schedule.cron),
        description=describe(schedule.cron),
        timezone=schedule.timezone,
        enabled=schedule.enabled,
        next_runs=[run.local for run in planned_runs(schedule, now, count)],
    )


def dead_letters(dash: Dashboard) -> tuple[list[tuple[str, DeadLetter]], dict[str, str]]:
    """Every dead letter with its instance, newest first, and the instances in error."""
    found: list[tuple[str, DeadLetter]] = []
    errors: dict[str, str] = {}
    for name, instance, app_huey in _each(dash):
        kept = store(app_huey)
        if kept is None:
            continue
        letters, error = guarded(instance, partial(_letters, kept, app_huey.storage))
        if error:
            errors[name] = error
        found.extend((name, letter) for letter in letters or [])
    found.sort(key=lambda pair: pair[1].time, reverse=True)
    return found, errors


def _letters(kept: Store, storage: Any) -> list[DeadLetter]:
    # Reading creates nothing: no consumer yet, no tables, no dead letter.
    return kept.dead_letters() if delivery_tables_exist(storage) else []


def records_runs(config: Config) -> bool:
    """Whether any instance keeps a history of its runs (``events: {history: true}``)."""
    return any(i.events.history for i in config.instances.values() if shared(i))


def runs(
    dash: Dashboard, *, limit: int = PAGE_SIZE, **filters: Any
) -> tuple[list[Event] | None, str | None]:
    """How runs ended (newest first), or None when nothing records them; and an error."""
    app = dash.app()
    if not records_runs(app.config):
        return None, None
    status = filters.pop("status", None) or OUTCOMES
    try:
        return app.history(status=status, limit=limit, **filters), None
    except JobRunnerError as exc:
        return [], str(exc)


def attempts(config: Config, event: Event) -> int | None:
    """Which attempt of its run ``event`` ended: the task's retries less those left, plus one."""
    if event.retries is None:
        return None
    defined: Any = config.schedules.get(event.schedule or "") or config.tasks.get(event.task or "")
    if defined is None:
        return None
    return max(int(defined.options.retries) - event.retries, 0) + 1


def per_minute(events: list[Event], now: float | None = None) -> list[tuple[int, int]]:
    """(runs, failures) per minute over the last hour, oldest first (the overview's chart)."""
    now = time.time() if now is None else now
    buckets = [[0, 0] for _ in range(60)]
    for event in events:
        age = now - event.ts
        if 0 <= age < 3600:
            bucket = buckets[59 - int(age // 60)]
            bucket[0] += 1
            if event.status != "complete":
                bucket[1] += 1
    return [(a, b) for a, b in buckets]


def mask_all(config: Config, lines: list[str]) -> list[str]:
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
