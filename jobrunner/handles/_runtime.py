"""What a generated handles module (``jobrunner generate``) calls at run time.

A generated module holds one :class:`Binding` (the ``jobs.yaml`` it came from) and one
:class:`TaskHandle` per task. A handle binds on its first call to huey's ``TaskWrapper``
in ``jobrunner.load(<that jobs.yaml>)`` (or in an ``App`` given to ``bind``) and from then
on calls it directly: the only cost over ``app.tasks.X(...)`` is one method call.

This module must not import huey at module level: producers type-check against it and
huey ships no type information.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from jobrunner.app import App

P = ParamSpec("P")
T = TypeVar("T")
R_co = TypeVar("R_co", covariant=True)


class Result(Protocol[R_co]):
    """huey's ``Result`` as the type checker sees it: ``get()`` returns the task's value."""

    @property
    def id(self) -> str: ...

    # Without blocking, get() gives None while the task has not finished.
    @overload
    def get(
        self,
        blocking: Literal[True],
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co: ...

    @overload
    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | None: ...

    @overload
    def __call__(
        self,
        blocking: Literal[True],
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co: ...

    @overload
    def __call__(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | None: ...

    def is_revoked(self) -> bool: ...

    def revoke(self, revoke_once: bool = True) -> None: ...

    def restore(self) -> bool: ...

    def reschedule(
        self,
        eta: datetime | None = None,
        delay: float | timedelta | None = None,
        expires: float | timedelta | datetime | None = None,
        priority: int | None = None,
        preserve_pipeline: bool = True,
    ) -> Result[R_co]: ...

    def reset(self) -> None: ...


class Binding:
    """The ``App`` the handles of one generated module use, loaded on first need."""

    def __init__(self, module_file: str, config: str) -> None:
        # `config` is relative to the generated module's folder: the project can move.
        self.path = Path(os.path.normpath(Path(module_file).resolve().parent / config))
        self._app: App | None = None
        self._lock = threading.Lock()
        self._handles: list[TaskHandle[Any, Any]] = []

    @property
    def app(self) -> App:
        """The bound ``App``; ``jobrunner.load()`` of :attr:`path` unless one was given."""
        app = self._app
        if app is None:
            with self._lock:
                if self._app is None:
                    from jobrunner.app import load

                    self._app = load(self.path)
                app = self._app
        return app

    def bind(self, app: App | str | os.PathLike[str]) -> App:
        """Use ``app`` (or ``jobrunner.load()`` of a path) from now on; handles rebind."""
        from jobrunner.app import App, load

        bound = app if isinstance(app, App) else load(app)
        with self._lock:
            self._app = bound
            for handle in self._handles:
                handle._reset()
        return bound

    def task(self, name: str) -> Callable[[Callable[P, T]], TaskHandle[P, T]]:
        """Decorate a signature stub: the handle of task ``name`` with that signature."""

        def make(stub: Callable[P, T]) -> TaskHandle[P, T]:
            # A class of its own per handle: binding sets huey's TaskWrapper as that
            # class's __call__, so a call reaches the TaskWrapper without a frame of ours.
            own = type(f"TaskHandle_{name}", (TaskHandle,), {"__module__": __name__})
            handle: TaskHandle[P, T] = own(self, name, stub)
            self._handles.append(handle)
            return handle

        return make

    def schedule(self, name: str) -> ScheduleHandle:
        return ScheduleHandle(self, name)


class TaskHandle(Generic[P, T]):
    """A task's handle: call it to enqueue (huey's ``TaskWrapper`` API, typed)."""

    def __init__(self, binding: Binding, name: str, stub: Callable[P, T]) -> None:
        self._binding = binding
        self.name = name
        self.__doc__ = stub.__doc__
        self.__wrapped__ = stub  # inspect.signature() and help() show the task's signature
        self._reset()

    def _reset(self) -> None:
        """Forget the bound TaskWrapper: the next call binds again."""
        if "__call__" in vars(type(self)):
            delattr(type(self), "__call__")

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Enqueue the task; huey's ``Result`` (None when the instance stores no results).

        Runs on the first call only: it binds, then the TaskWrapper takes its place.
        The TaskWrapper has no ``__get__``, so Python calls it without this handle.
        """
        wrapper = self.wrapper
        if type(self) is not TaskHandle:
            type(self).__call__ = wrapper  # type: ignore[method-assign]
        result: T = wrapper(*args, **kwargs)
        return result

    @property
    def wrapper(self) -> Any:
        """huey's ``TaskWrapper`` of this task in the bound ``App``."""
        return self._binding.app.tasks[self.name]

    def schedule(
        self,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        eta: datetime | None = None,
        delay: float | timedelta | None = None,
        priority: int | None = None,
        retries: int | None = None,
        retry_delay: float | None = None,
        expires: float | timedelta | datetime | None = None,
        id: str | None = None,
    ) -> T:
        """Enqueue to run at ``eta`` or after ``delay`` (huey's ``schedule``)."""
        result: T = self.wrapper.schedule(
            args, kwargs, eta, delay, priority, retries, retry_delay, expires, id
        )
        return result

    def map(self, *args: Any, **kwargs: Any) -> Any:
        """Enqueue one call per item (the underlying handle's ``map``)."""
        return self.wrapper.map(*args, **kwargs)

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """huey's task instance for a pipeline, not enqueued."""
        return self.wrapper.s(*args, **kwargs)

    def revoke(self, revoke_until: datetime | None = None, revoke_once: bool = False) -> None:
        """Skip the task's runs (until ``revoke_until``, or only the next one)."""
        self.wrapper.revoke(revoke_until, revoke_once)

    def restore(self) -> bool:
        """Undo :meth:`revoke`; True if the task was revoked."""
        return bool(self.wrapper.restore())

    def is_revoked(self, timestamp: datetime | None = None) -> bool:
        return bool(self.wrapper.is_revoked(timestamp))

    def __repr__(self) -> str:
        return f"<task handle {self.name} of {self._binding.path}>"


class ScheduleHandle:
    """A schedule's handle: revoke / restore its runs, pause / resume it, trigger it now."""

    __slots__ = ("_binding", "name")

    def __init__(self, binding: Binding, name: str) -> None:
        self._binding = binding
        self.name = name

    @property
    def wrapper(self) -> Any:
        """huey's periodic ``TaskWrapper`` of this schedule in the bound ``App``."""
        return self._binding.app.schedules[self.name]

    def revoke(self, revoke_until: datetime | None = None, revoke_once: bool = False) -> None:
        """Skip the schedule's runs (until ``revoke_until``, or only the next one)."""
        self.wrapper.revoke(revoke_until, revoke_once)

    def restore(self) -> bool:
        """Undo :meth:`revoke`; True if the schedule was revoked."""
        return bool(self.wrapper.restore())

    def pause(self) -> bool:
        """Stop firing in every runner until :meth:`resume`; False if already paused."""
        from jobrunner.handles._control import pause

        return pause(self._binding.app, self.name)

    def resume(self) -> bool:
        """Fire again from the next tick; False if it was not paused."""
        from jobrunner.handles._control import resume

        return resume(self._binding.app, self.name)

    def trigger(self) -> str:
        """Enqueue the schedule's task now, once, with its configured arguments; its id.

        huey stores no results of periodic tasks, so there is no ``Result`` to wait on:
        the runner's log names the run by this id.
        """
        from jobrunner.handles._control import trigger

        return trigger(self._binding.app, self.name).id

    def __repr__(self) -> str:
        return f"<schedule handle {self.name} of {self._binding.path}>"
