"""Register tasks and schedules on a huey object under stable names taken from the YAML keys.

huey names a task ``<func.__module__>.<name>``. jobrunner registers a stand-in
function whose module is ``jobrunner.tasks`` (or ``jobrunner.schedules``), so the
name in a message depends only on the YAML key: a producer enqueues without
importing the task's module, and moving the function does not orphan queued work.

Each registered task class carries its config as a class attribute
(``task_config`` or ``schedule_config``): at run time huey's registry is the one
source of truth of what is registered, and a reload changes it in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import huey
from huey.api import TaskWrapper

from jobrunner.config._imports import import_callable
from jobrunner.config.model import ScheduleConfig, TaskConfig, TaskOptions
from jobrunner.factory._guards import guard
from jobrunner.scheduling import is_due
from jobrunner.timezones import zone

TASK_PREFIX = "jobrunner.tasks"
SCHEDULE_PREFIX = "jobrunner.schedules"


class LazyFunction:
    """Stands in for ``module:function`` and imports it on first call (or :meth:`bind`)."""

    def __init__(
        self,
        reference: str,
        name: str,
        module: str,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.reference = reference
        self.__name__ = name
        self.__qualname__ = name
        self.__module__ = module
        self.__doc__ = f"Runs {reference}."
        self._args = args
        self._kwargs = dict(kwargs or {})
        self._target: Callable[..., Any] | None = None
        self._lock = threading.Lock()

    def bind(self) -> Callable[..., Any]:
        """Import the target now; raises what the import raises."""
        if self._target is None:
            with self._lock:
                if self._target is None:
                    self._target = import_callable(self.reference)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        target = self._target or self.bind()
        if self._args or self._kwargs:
            return target(*self._args, *args, **{**self._kwargs, **kwargs})
        return target(*args, **kwargs)

    def call_first(self, first: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the target with ``first`` ahead of a schedule's arguments and the given ones
        (``context_manager`` with ``as_argument``)."""
        target = self._target or self.bind()
        return target(first, *self._args, *args, **{**self._kwargs, **kwargs})

    def __repr__(self) -> str:
        return f"<{self.__module__}.{self.__name__} -> {self.reference}>"


def _huey_options(options: TaskOptions) -> dict[str, Any]:
    return {
        "retries": options.retries,
        "retry_delay": options.retry_delay,
        "retry_backoff": options.retry_backoff,
        "priority": options.priority,
        "expires": options.expires,
        "timeout": options.timeout,
        "context": options.context,
    }


def register_task(app_huey: huey.Huey, task: TaskConfig, *, replace: bool = False) -> TaskWrapper:
    """Register ``task`` on ``app_huey`` as ``jobrunner.tasks.<name>``.

    ``replace`` swaps a task registered under the same name in place (hot reload).
    """
    function = guard(
        app_huey, LazyFunction(task.function, task.name, TASK_PREFIX), task.options, task.name
    )
    with _replacing(app_huey._registry) if replace else nullcontext():
        # schedule_config=None: huey's signal hooks ask every task for it
        # (scheduling/_overlap.py), and a missing class attribute costs an AttributeError.
        wrapper: TaskWrapper = app_huey.task(
            name=task.name, task_config=task, schedule_config=None, **_huey_options(task.options)
        )(function)
    return wrapper


def register_schedule(
    app_huey: huey.Huey, schedule: ScheduleConfig, *, replace: bool = False
) -> TaskWrapper:
    """Register ``schedule`` as a huey periodic task ``jobrunner.schedules.<name>``.

    The stand-in function carries the schedule's ``args`` and ``kwargs``, which
    plain huey periodic tasks cannot take. ``replace`` swaps a schedule registered
    under the same name in place (hot reload).
    """
    function = guard(
        app_huey,
        LazyFunction(
            schedule.function, schedule.name, SCHEDULE_PREFIX, schedule.args, schedule.kwargs
        ),
        schedule.options,
        schedule.task or schedule.name,
    )
    tz = zone(schedule.timezone)
    utc = app_huey.utc

    def due(timestamp: datetime) -> bool:
        if not schedule.enabled:
            return False
        # huey passes a naive timestamp on its own clock: UTC, or local time.
        moment = timestamp.replace(tzinfo=UTC) if utc else timestamp.astimezone()
        tick = moment.astimezone(UTC).replace(second=0, microsecond=0)
        return is_due(schedule.cron, tz, tick)

    with _replacing(app_huey._registry) if replace else nullcontext():
        wrapper: TaskWrapper = app_huey.periodic_task(
            due, name=schedule.name, schedule_config=schedule, **_huey_options(schedule.options)
        )(function)
    return wrapper


@contextmanager
def _replacing(registry: Any) -> Iterator[None]:
    """Make ``registry.register`` (called by huey's TaskWrapper) swap a same-named class in place.

    Unregister-then-register would leave a moment in which a worker dequeuing a
    message for the task finds no such task. Only the thread applying a reload
    registers while workers run, so shadowing the method for that call is safe.
    """

    def swap(task_class: type) -> bool:
        key = registry.task_to_string(task_class)
        old = registry._registry.get(key)
        registry._registry[key] = task_class  # one store: readers see old or new, never none
        periodic = [t for t in registry._periodic_tasks if t is not old]
        if hasattr(task_class, "validate_datetime"):
            periodic.append(task_class)
        registry._periodic_tasks = periodic
        return True

    registry.register = swap
    try:
        yield
    finally:
        del registry.register
