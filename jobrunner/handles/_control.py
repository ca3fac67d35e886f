"""Sending work outside the hot path, shared by handles and the CLI: enqueue a task with
an id to report, trigger a schedule, pause and resume one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobrunner.errors import JobRunnerError
from jobrunner.scheduling._state import ScheduleState

if TYPE_CHECKING:
    from jobrunner.app import App


@dataclass(frozen=True)
class Sent:
    """An enqueued message: its id, and huey's ``Result`` (None where results are off)."""

    id: str
    result: Any


def send(
    wrapper: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    eta: datetime | None = None,
    delay: float | None = None,
) -> Sent:
    """Enqueue one call of huey ``TaskWrapper`` ``wrapper``, now or at ``eta`` / after ``delay``.

    Built like huey's ``TaskWrapper.schedule``, but keeping the task object: the id is
    known even where the instance stores no results (huey then returns None).
    """
    from huey.utils import normalize_time

    task = wrapper.s(*args, **(kwargs or {}))
    if eta is not None or delay is not None:
        task.eta = normalize_time(eta, delay, wrapper.huey.utc)
    return Sent(task.id, wrapper.huey.enqueue(task))


def trigger(app: App, name: str) -> Sent:
    """Enqueue schedule ``name``'s task now, once, with its configured arguments.

    The message is the one a tick enqueues (the schedule's periodic task, whose stand-in
    function carries the arguments), sent without a tick: no claim is taken or released
    and the last decided tick stays as it was, so the schedule's own ticks are unaffected.
    A paused or disabled schedule is triggered too: the operator asked for this run.
    """
    return send(app.schedules[name])


def pause(app: App, name: str) -> bool:
    """Pause schedule ``name`` in every runner sharing its storage; False if it was already."""
    return _state(app, name).pause(name)


def resume(app: App, name: str) -> bool:
    """Resume schedule ``name``; False if it was not paused."""
    return _state(app, name).resume(name)


def _state(app: App, name: str) -> ScheduleState:
    app.schedules[name]  # an unknown name raises UnknownNameError here
    instance = app.config.instances[app.config.schedules[name].instance]
    if instance.immediate or instance.backend == "memory":
        raise JobRunnerError(
            f"schedule {name!r}: instance {instance.name!r} shares no storage with runners "
            f"({'immediate mode' if instance.immediate else 'memory storage'}), so there is "
            "nothing to pause or resume"
        )
    return ScheduleState(app.huey(instance.name).storage)
