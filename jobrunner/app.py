"""The Python API: ``jobrunner.load("jobs.yaml")`` and the task handles it generates."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import huey
from huey import Huey
from huey.api import TaskWrapper

from jobrunner.config import Config, Loaded, load_config
from jobrunner.config._setup import run_setup
from jobrunner.errors import ConfigError, Issue, UnknownNameError
from jobrunner.events import Event
from jobrunner.factory import make_huey, register_schedule, register_task


class _UnknownAttribute(UnknownNameError, AttributeError):  # type: ignore[misc]
    """An unknown name met through ``handles.name``: also an AttributeError, so that
    ``getattr(handles, name, default)`` and ``hasattr`` work as they do everywhere."""


class Handles(Mapping[str, TaskWrapper]):
    """Task (or schedule) handles by name: ``handles.count_beans`` or ``handles["count_beans"]``.

    Each handle is huey's own ``TaskWrapper``: call it to enqueue, and use
    ``.schedule(args=, delay=|eta=)``, ``.revoke()``, ``.restore()``, ``.is_revoked()``,
    ``.s()`` and ``.map()`` as in huey.
    """

    def __init__(self, kind: str, wrappers: dict[str, TaskWrapper]) -> None:
        self._kind = kind
        self._wrappers = wrappers
        # ``handles.name`` is on the enqueue path: found in the instance dict it is a
        # plain lookup, where __getattr__ comes only after a failed lookup has built an
        # AttributeError (about 5% of an enqueue on Redis, counted with callgrind).
        # Names of Mapping's methods (``get``, ``items``...) and private names stay
        # what they are; ``handles["get"]`` reaches such a task.
        for name, wrapper in wrappers.items():
            if not name.startswith("_") and not hasattr(type(self), name):
                self.__dict__[name] = wrapper

    def __getitem__(self, name: str) -> TaskWrapper:
        try:
            return self._wrappers[name]
        except KeyError:
            raise UnknownNameError(self._kind, name, self._wrappers) from None

    def __getattr__(self, name: str) -> TaskWrapper:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._wrappers[name]
        except KeyError:
            raise _UnknownAttribute(self._kind, name, self._wrappers) from None

    # Mapping's own `in` and get() catch only KeyError, not UnknownNameError.
    def __contains__(self, name: object) -> bool:
        return name in self._wrappers

    def get(self, name: str, default: Any = None) -> Any:
        """The handle of ``name``, or ``default`` when there is no such name."""
        return self._wrappers.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._wrappers)

    def __len__(self) -> int:
        return len(self._wrappers)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._wrappers})

    def __repr__(self) -> str:
        return f"<{self._kind}s: {', '.join(self._wrappers) or 'none'}>"


class App:
    """A loaded ``jobs.yaml``: huey instances with its tasks and schedules registered.

    Build one with :func:`load`. ``app.tasks.NAME(...)`` enqueues,
    ``app.schedules.NAME`` controls a periodic schedule, ``app.huey(NAME)`` is the
    underlying ``huey.Huey``.
    """

    def __init__(
        self, config: Config, *, immediate: bool | None = None, warnings: list[Issue] | None = None
    ) -> None:
        self.config = config
        self.warnings = list(warnings or [])
        if immediate is None:
            immediate = os.environ.get("JOBRUNNER_IMMEDIATE", "").lower() in ("1", "true", "yes")
        self._hueys = {
            name: make_huey(instance, immediate=immediate)
            for name, instance in config.instances.items()
        }
        tasks = {
            name: register_task(self._hueys[task.instance], task)
            for name, task in config.tasks.items()
        }
        schedules = {
            name: register_schedule(self._hueys[schedule.instance], schedule)
            for name, schedule in config.schedules.items()
        }
        self.tasks = Handles("task", tasks)
        self.schedules = Handles("schedule", schedules)

    @property
    def instances(self) -> Mapping[str, huey.Huey]:
        """Every huey object by instance name."""
        return dict(self._hueys)

    def huey(self, name: str | None = None) -> huey.Huey:
        """The ``huey.Huey`` of instance ``name``; the name may be left out when there is one."""
        if name is None:
            if len(self._hueys) != 1:
                raise UnknownNameError("instance", "(none given)", self._hueys)
            return next(iter(self._hueys.values()))
        try:
            return self._hueys[name]
        except KeyError:
            raise UnknownNameError("instance", name, self._hueys) from None

    def bind(self) -> None:
        """Import every task and schedule function now (the consumer does, to fail fast).

        Raises :class:`ConfigError` pointing at the YAML definition of each function
        that does not import.
        """
        from jobrunner.config._imports import explain_import_error

        issues = []
        for kind, handles, definitions in (
            ("tasks", self.tasks, self.config.tasks),
            ("schedules", self.schedules, self.config.schedules),
        ):
            for name, wrapper in handles.items():
                definition: Any = definitions[name]
                try:
                    wrapper.func.bind()
                except Exception as exc:
                    message, hint = explain_import_error(definition.function, exc)
                    loc = definition.location
                    issues.append(
                        Issue(
                            loc.file, loc.line, loc.column, f"{kind}.{name}.function", message, hint
                        )
                    )
        if issues:
            raise ConfigError(issues)

    def adopt(
        self,
        config: Config,
        hueys: Mapping[str, Huey],  # `huey` is a method name in this class body
        tasks: Mapping[str, TaskWrapper],
        schedules: Mapping[str, TaskWrapper],
    ) -> None:
        """Take over a hot-reloaded configuration whose huey objects and handles are built.

        ``jobrunner run``'s reload (``jobrunner.runtime._reload``) registers the
        changes on the live huey objects itself, then hands the result over here.
        Handles taken from the old ``app.tasks`` keep their old registrations.
        """
        self.config = config
        self._hueys = dict(hueys)
        self.tasks = Handles("task", dict(tasks))
        self.schedules = Handles("schedule", dict(schedules))

    def history(
        self,
        *,
        instance: str | None = None,
        task: str | None = None,
        schedule: str | None = None,
        status: str | Iterable[str] | None = None,
        since: Any = None,
        until: Any = None,
        limit: int = 100,
    ) -> list[Event]:
        """Past events from the instances' histories, newest first (docs/events.md).

        ``status`` is one status or several; ``since`` / ``until`` a datetime (naive
        is UTC), epoch seconds or a duration back from now (``"1h"``).
        """
        from jobrunner.events._query import histories_of, make_query, query_all

        query = make_query(
            task=task, schedule=schedule, status=status, since=since, until=until, limit=limit
        )
        storages = {name: h.storage for name, h in self._hueys.items()}
        return query_all(histories_of(self.config.instances, storages, instance), query)

    def events(
        self, *, instance: str | None = None, task: str | None = None, timeout: float | None = None
    ) -> Iterator[Event]:
        """The live stream: events as they happen (Redis pub/sub where an instance publishes,
        else its history as it grows), until ``timeout`` seconds have passed (None: forever)."""
        from jobrunner.events._follow import follow, sources_of

        return follow(sources_of(self.config, self.huey, instance), task=task, timeout=timeout)

    def close(self) -> None:
        """Close every storage connection."""
        for h in self._hueys.values():
            h.storage.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<jobrunner.App {self.config.path} instances={list(self._hueys)}>"


def load(
    path: str | os.PathLike[str] = "jobs.yaml",
    *,
    immediate: bool | None = None,
    environ: Mapping[str, str] | None = None,
    setup: bool = False,
) -> App:
    """Validate ``path`` and build its huey instances, tasks and schedules; start no consumer.

    Task functions are not imported, so a producer does not pay for (or need)
    the task modules' dependencies. ``immediate=True`` runs tasks in the caller
    (the default follows ``JOBRUNNER_IMMEDIATE``). ``setup=True`` runs the file's
    ``setup:`` functions (once per process), for a process that runs tasks itself
    (immediate mode, tests). Raises :class:`ConfigError`.
    """
    with gc_paused():
        loaded: Loaded = load_config(path, check_imports=False, environ=environ)
        if setup:
            failed = run_setup(loaded.config.setup)
            if failed:
                raise ConfigError(failed)
        app = App(loaded.config, immediate=immediate, warnings=loaded.warnings)
    for name, instance in loaded.config.instances.items():
        if instance.events.enqueued:
            from jobrunner.events import attach_producer

            attach_producer(app.huey(name), instance)
    return app


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """Hold off the cyclic garbage collector while a config loads; put its state back after.

    A load allocates objects that all live on, so each collection during it walks a larger
    heap for nothing (docs/performance.md, "Loading a config"). ``freeze=True`` also moves
    every object of the process to the permanent generation (``gc.freeze()``), where no
    collection looks again: only for a process jobrunner owns (``jobrunner run``), never in
    ``load()``, whose caller's objects would be moved too.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
