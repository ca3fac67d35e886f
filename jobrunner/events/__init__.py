"""Events and run history: what every run, schedule and consumer did, as it happens.

How to use it (names here are stable; docs/events.md has the schema and the sinks):

- **The model**: :class:`Event` (one JSON object via ``event.as_dict()`` /
  ``event.to_json()``), status names as constants (:data:`STARTED`, :data:`COMPLETE`,
  :data:`ERROR`, :data:`RETRYING`, :data:`FIRED`, ... ; :data:`STATUSES`, :data:`OUTCOMES`).
- **In-process subscribers** (metrics, dashboard): ``unsubscribe = subscribe(callback)``.
  ``callback(batch)`` receives a ``Sequence[Event]``, called from the process's one
  dispatcher thread (never a worker) about every 0.25 s with everything emitted since,
  in emission order, including the events of process workers (forwarded to the parent)
  and greenlet workers. Keep callbacks quick; an exception is logged, not raised.
- **Emitting** from jobrunner's own code: ``emit_for(huey, STATUS, **fields)`` (one call
  per emission point; nothing when that huey emits no events) or ``emit(STATUS,
  **fields)``; a dashboard action: ``emit(ACTION, instance="default", schedule="nightly",
  data={"action": "pause", "by": "alice@host"})``.
- **History**: ``jobrunner.load("jobs.yaml").history(task=, schedule=, status=, since=,
  until=, limit=)`` returns :class:`Event` records, newest first;
  :func:`open_history` gives the backend object (``query``, ``after``, ``consumers``).
- **Status snapshot**: :func:`jobrunner.status.snapshot` (see that package).
- **Another process** (a dashboard command, not ``jobrunner run``): call
  ``wire_instance(instance_config, app.huey(name))`` once per instance so that what it
  emits reaches that instance's sinks, and ``reset()`` (flush, close) before it exits.
- **Counters**: ``hub().dropped`` (events dropped because the buffer was full) and
  ``hub().forward_dropped`` (a process worker's batches its parent did not take).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jobrunner.events._attach import ConsumerEvents, attach_producer, reset, wire_instance
from jobrunner.events._emitter import Emitter, emit_for, tick_label
from jobrunner.events._history import (
    CONSUMER_TTL,
    ConsumerRecord,
    History,
    HistoryQuery,
    history_for,
)
from jobrunner.events._hub import FLUSH_INTERVAL, Hub, Subscriber, hub
from jobrunner.events._model import (
    ACTION,
    CANCELED,
    CAUGHT_UP,
    COMPLETE,
    CONSUMER_STARTED,
    CONSUMER_STATUSES,
    CONSUMER_STOPPED,
    DEAD_LETTERED,
    ENQUEUED,
    ERROR,
    EXPIRED,
    FIELDS,
    FIRED,
    INTERRUPTED,
    LOCKED,
    OUTCOMES,
    RECOVERED,
    RELOAD_APPLIED,
    RELOAD_REJECTED,
    RETRYING,
    REVOKED,
    RUN_STATUSES,
    SCHEDULE_STATUSES,
    SKIPPED,
    STARTED,
    STATUSES,
    TIMEOUT,
    Event,
)
from jobrunner.events._sinks import default_channel

__all__ = [
    "ACTION",
    "CANCELED",
    "CAUGHT_UP",
    "COMPLETE",
    "CONSUMER_STARTED",
    "CONSUMER_STATUSES",
    "CONSUMER_STOPPED",
    "CONSUMER_TTL",
    "DEAD_LETTERED",
    "ENQUEUED",
    "ERROR",
    "EXPIRED",
    "FIELDS",
    "FIRED",
    "FLUSH_INTERVAL",
    "INTERRUPTED",
    "LOCKED",
    "OUTCOMES",
    "RECOVERED",
    "RELOAD_APPLIED",
    "RELOAD_REJECTED",
    "RETRYING",
    "REVOKED",
    "RUN_STATUSES",
    "SCHEDULE_STATUSES",
    "SKIPPED",
    "STARTED",
    "STATUSES",
    "TIMEOUT",
    "ConsumerEvents",
    "ConsumerRecord",
    "Emitter",
    "Event",
    "History",
    "HistoryQuery",
    "Hub",
    "Subscriber",
    "attach_producer",
    "default_channel",
    "emit",
    "emit_for",
    "history_for",
    "hub",
    "reset",
    "subscribe",
    "tick_label",
    "wire_instance",
]


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """``hub().subscribe(callback)``: see the module docstring; returns the unsubscriber."""
    return hub().subscribe(callback)


def emit(status: str, **fields: Any) -> None:
    """Emit an event now from this process (``fields``: :class:`Event` fields).

    Without ``instance`` it goes to the sinks of every instance (reload events do).
    """
    hub().emit(Event(status, time.time(), **fields))
