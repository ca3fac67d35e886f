"""Where events come from: huey's signals in the process that runs a task, and
:func:`emit_for`, the one call each scheduler, delivery and runtime emission point makes.

A huey object that emits carries an :class:`Emitter` (``huey.jobrunner_events``); a
huey object without one (a test's bare scheduler, events off) emits nothing.
"""

from __future__ import annotations

import time
import traceback
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import huey
from huey import signals as S

from jobrunner.events import _model as M
from jobrunner.events._hub import hub
from jobrunner.events._model import Event

# huey's signal -> our status. ENQUEUED is the producer's (see attach_producer): in a
# consumer, huey also sends it for retries and schedules, which have their own events.
_RUN_SIGNALS = {
    S.SIGNAL_EXECUTING: M.STARTED,
    S.SIGNAL_COMPLETE: M.COMPLETE,
    S.SIGNAL_ERROR: M.ERROR,
    S.SIGNAL_RETRYING: M.RETRYING,
    S.SIGNAL_REVOKED: M.REVOKED,
    S.SIGNAL_EXPIRED: M.EXPIRED,
    S.SIGNAL_LOCKED: M.LOCKED,
    S.SIGNAL_CANCELED: M.CANCELED,
    S.SIGNAL_INTERRUPTED: M.INTERRUPTED,
    S.SIGNAL_TIMEOUT: M.TIMEOUT,
}
# Statuses after which the run (this attempt) is over: its duration is known.
_ENDS = frozenset({M.COMPLETE, M.ERROR, M.LOCKED, M.CANCELED, M.INTERRUPTED, M.TIMEOUT})


class Emitter:
    """The events of one instance's huey object (one consumer's, or a producer's)."""

    def __init__(
        self, app_huey: huey.Huey, instance: str, consumer: str | None, capture_args: bool
    ) -> None:
        self.huey = app_huey
        self.instance = instance
        self.consumer = consumer
        self.capture_args = capture_args
        self._names: dict[type, tuple[str | None, str | None]] = {}
        self._started: dict[str, float] = {}
        self._emit = hub().emit

    # -- huey's signals -----------------------------------------------------------------------

    def connect(self) -> None:
        self.huey.signal(*_RUN_SIGNALS)(self.on_signal)
        self.huey.jobrunner_events = self

    def disconnect(self) -> None:
        self.huey.disconnect_signal(self.on_signal, *_RUN_SIGNALS)
        if getattr(self.huey, "jobrunner_events", None) is self:
            self.huey.jobrunner_events = None

    def on_signal(self, signal: str, task: Any, *args: Any) -> None:
        # The worker's hot path: take the few values that change later (retries is
        # decremented on requeue) and leave building the Event to the dispatcher.
        status = _RUN_SIGNALS[signal]
        duration = None
        extra: dict[str, Any] | None = None
        if status == M.STARTED:
            self._started[task.id] = time.monotonic()
            # Set by jobrunner's huey classes (factory/_enqueue_time.py); None without a stamp.
            enqueued_at = getattr(task, "enqueued_at", None)
            if enqueued_at is not None:
                extra = {"enqueued_at": enqueued_at}
        elif status in _ENDS:
            start = self._started.pop(task.id, None)
            if start is not None:
                duration = round(time.monotonic() - start, 6)
            if status == M.ERROR and args and isinstance(args[0], BaseException):
                exc = args[0]
                extra = {
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": "".join(traceback.format_exception(exc)),
                }
        elif status == M.RETRYING:
            retries = getattr(type(task), "default_retries", None) or 0
            extra = {"attempt": max(retries - task.retries + 1, 1), "delay": task.retry_delay or 0}
        if self.capture_args:
            extra = {**(extra or {}), "args": list(task.args or ()), "kwargs": task.kwargs or {}}
        self._emit(
            (
                self._build,
                status,
                time.time(),
                task.id,
                type(task),
                task.retries,
                task.retry_delay,
                task.eta,
                duration,
                extra,
            )
        )

    def on_enqueued(self, signal: str, task: Any, *args: Any) -> None:
        hub().emit(self.task_event(M.ENQUEUED, task))

    def _build(
        self,
        status: str,
        ts: float,
        id: str,
        cls: type,
        retries: int,
        retry_delay: float,
        eta: datetime | None,
        duration: float | None,
        extra: dict[str, Any] | None,
    ) -> Event:
        names = self._names.get(cls)
        if names is None:
            names = self._names[cls] = _names_of(self.huey, cls)
        event = Event(
            status,
            ts,
            instance=self.instance,
            id=id,
            task=names[0],
            schedule=names[1],
            retries=retries,
            retry_delay=retry_delay,
            execute_time=_epoch(eta, self.huey.utc) if eta is not None else None,
            duration=duration,
            consumer=self.consumer,
        )
        if extra:
            event.error = extra.pop("error", None)
            event.traceback = extra.pop("traceback", None)
            event.data = extra or None
        return event

    def task_event(self, status: str, task: Any) -> Event:
        extra = None
        if self.capture_args:
            extra = {"args": list(task.args or ()), "kwargs": task.kwargs or {}}
        return self._build(
            status,
            time.time(),
            task.id,
            type(task),
            task.retries,
            task.retry_delay,
            task.eta,
            None,
            extra,
        )

    # -- everything else ----------------------------------------------------------------------

    def emit(self, status: str, **fields: Any) -> None:
        hub().emit(
            Event(status, time.time(), instance=self.instance, consumer=self.consumer, **fields)
        )


def emit_for(app_huey: huey.Huey, status: str, **fields: Any) -> None:
    """Emit ``status`` for the instance of ``app_huey``, if it emits events.

    ``fields`` are :class:`Event` fields (``schedule=``, ``tick=``, ``data={...}``...).
    """
    emitter: Emitter | None = getattr(app_huey, "jobrunner_events", None)
    if emitter is not None:
        emitter.emit(status, **fields)


@lru_cache(maxsize=64)  # thousands of runs share a tick
def tick_label(tick: datetime) -> str:
    """A schedule tick as events carry it: ISO 8601 UTC, ``2026-11-30T06:15:00Z``."""
    return tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names_of(app_huey: huey.Huey, cls: type) -> tuple[str | None, str | None]:
    """(task, schedule) YAML keys of a task class: a schedule's task is its ``task:`` or
    its own name; a task registered outside jobs.yaml keeps huey's name."""
    schedule = getattr(cls, "schedule_config", None)
    if schedule is not None:
        return schedule.task or schedule.name, schedule.name
    config = getattr(cls, "task_config", None)
    if config is not None:
        return config.name, None
    return app_huey._registry.task_to_string(cls), None


def _epoch(moment: datetime, utc: bool) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC) if utc else moment.astimezone()
    return moment.timestamp()
