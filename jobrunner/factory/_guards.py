"""``lock``, ``rate_limit`` and ``context_manager``: what huey's ``lock_task``,
``rate_limit`` and ``context_task`` decorators put around a task function.

A task without them keeps the bare :class:`LazyFunction`: nothing is added to
its run. A task with them gets a :class:`GuardedFunction`, which enters huey's
own ``TaskLock`` and a :class:`RateLimit` (huey's, race-free across processes)
around each call, then the context manager, then the function.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import huey
from huey.api import RateLimit as _HueyRateLimit
from huey.api import TaskLock
from huey.exceptions import RateLimitExceeded

from jobrunner.config._imports import import_context_manager
from jobrunner.config.model import ContextManagerConfig, TaskOptions

# Locks taken by runs of this process and not yet released (see release_held_locks).
_held: set[TaskLock] = set()
_held_guard = threading.Lock()


class RateLimit(_HueyRateLimit):  # type: ignore[misc]
    """huey's fixed-window rate limit, with one counter per window.

    huey's resets one shared counter when a run sees a new window: two consumers
    that see it at the same moment both reset it and the window admits more than
    ``limit`` runs (rate-limited retries all wake at the window's start, so they
    do meet there). A counter per window needs no reset: one atomic increment.
    """

    def _key(self, window: int) -> str:
        return f"{self._counter_key}.{window}"

    def acquire(self) -> None:
        now = time.time()
        window = int(now // self._per)
        count = self._huey.storage.incr(self._key(window))
        if count == 1:
            # The first run of a window drops the previous window's counter.
            self._huey.storage.delete_counter(self._key(window - 1))
        if count > self._limit:
            raise RateLimitExceeded(self._name, self._time_until_reset(now), retry=self._retry)

    def _time_until_reset(self, now: float) -> float:
        return float((int(now // self._per) + 1) * self._per - now)

    def current_usage(self) -> int:
        return int(self._huey.storage.incr(self._key(int(time.time() // self._per)), 0))

    def reset(self) -> None:
        self._huey.storage.delete_counter(self._key(int(time.time() // self._per)))


class _Holding:
    """Enter a huey ``TaskLock`` and remember it is held by this process until released."""

    __slots__ = ("_lock",)

    def __init__(self, lock: TaskLock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()  # raises TaskLockedException: huey reports the run as locked
        with _held_guard:
            _held.add(self._lock)

    def __exit__(self, *exc: object) -> None:
        with _held_guard:
            _held.discard(self._lock)
        self._lock.release()


class GuardedFunction:
    """A task function run inside its lock, rate limit and context manager."""

    def __init__(
        self,
        function: Any,  # a LazyFunction
        lock: TaskLock | None,
        rate_limit: RateLimit | None,
        context_manager: ContextManagerConfig | None,
    ) -> None:
        self._function = function
        self.reference: str = function.reference
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__module__ = function.__module__
        self.__doc__ = function.__doc__
        self._lock = lock
        self._rate_limit = rate_limit
        self._context_config = context_manager
        self._context: Any = None

    def bind(self) -> Callable[..., Any]:
        """Import the function (and the context manager) now; raises what the import raises."""
        if self._context_config is not None and self._context is None:
            self._context = import_context_manager(self._context_config.reference)
        return self._function.bind()  # type: ignore[no-any-return]

    def _make_context(self) -> AbstractContextManager[Any]:
        if self._context is None:
            self.bind()
        context = self._context
        if hasattr(context, "__enter__"):
            return context  # type: ignore[no-any-return]  # one object, as huey's context_task
        return context()  # type: ignore[no-any-return]  # a factory: a new one per run

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with ExitStack() as stack:
            # The lock first: a run that finds it held has not used up a rate-limit slot.
            if self._lock is not None:
                stack.enter_context(_Holding(self._lock))
            if self._rate_limit is not None:
                self._rate_limit.acquire()
            if self._context_config is not None:
                entered = stack.enter_context(self._make_context())
                if self._context_config.as_argument:
                    return self._function.call_first(entered, *args, **kwargs)
            return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self.__module__}.{self.__name__} -> {self.reference} (guarded)>"


def guard(app_huey: huey.Huey, function: Any, options: TaskOptions, name: str) -> Any:
    """``function`` inside what ``options`` asks for, or ``function`` itself when nothing."""
    if options.lock is None and options.rate_limit is None and options.context_manager is None:
        return function
    lock = None
    if options.lock is not None:
        # huey's own lock: flush_locks knows it, its key is huey's.
        lock = app_huey.lock_task(options.lock.name, ttl=options.lock.ttl)
    limiter = None
    if options.rate_limit is not None:
        spec = options.rate_limit
        limiter = RateLimit(app_huey, spec.name or name, spec.limit, spec.per, retry=spec.retry)
    return GuardedFunction(function, lock, limiter, options.context_manager)


def release_held_locks() -> list[str]:
    """Release the locks of runs this process gave up on (thread workers left running at
    exit, which cannot be interrupted); the names released."""
    with _held_guard:
        held = list(_held)
        _held.clear()
    names = []
    for lock in held:
        lock.release()
        names.append(lock._name)
    return names
