"""Each message stamped with its enqueue time (``jobrunner/_enqueue_stamp.py``), each task
read back with it as ``task.enqueued_at``: the start of ``jobrunner_task_start_delay_seconds``.

The huey object stamps a message where it serializes one (``serialize_task``: every
enqueue, bulk enqueues of ``jobrunner/batch/`` too) and keeps a task's first time when it
serializes the task again (moved to the schedule for its eta, back to the queue when due),
so ``enqueued_at`` stays the producer's moment. A retry is a new enqueue: its time is reset
(its delay counts from its eta when it has a retry delay). Results and revoke flags are
not messages: they stay unstamped, readable by plain huey.

The serializers read messages with or without the header, so every reader of a queue
(the delivery worker, the dashboard, a reload counting waiting tasks) can keep calling
``serializer.deserialize``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from time import time as _now
from typing import Any

import huey
from huey.api import Task
from huey.serializer import Serializer, SignedSerializer

from jobrunner._enqueue_stamp import header as _header
from jobrunner._enqueue_stamp import split


class _HeaderTolerant:
    """A huey serializer that skips a message's enqueue-time header before reading it."""

    def deserialize(self, data: bytes) -> Any:
        if data[:1] == b"\0":
            data = split(data)[1]
        return super().deserialize(data)  # type: ignore[misc]


class StampedSerializer(_HeaderTolerant, Serializer):  # type: ignore[misc]
    """huey's serializer, reading stamped messages too."""


class StampedSignedSerializer(_HeaderTolerant, SignedSerializer):  # type: ignore[misc]
    """huey's signed serializer, reading stamped messages too (the header is not signed)."""


class EnqueueTimes:
    """The huey object's half: stamp on serialize, ``task.enqueued_at`` on deserialize."""

    def serialize_task(self, task: Task) -> bytes:
        # Every enqueue runs this (docs/performance.md has its cost): a dict lookup, not
        # getattr(), which raises and catches an AttributeError for a task never stamped;
        # huey's bytes never carry a header, so no stamp() check.
        when = task.__dict__.get("enqueued_at")
        if when is None:
            when = task.enqueued_at = _now()
        return _header(when) + super().serialize_task(task)  # type: ignore[no-any-return,misc]

    def serialize_tasks(self, tasks: Sequence[Task]) -> list[bytes]:
        """``serialize_task`` of each task, the tasks not yet stamped sharing one time.

        A bulk enqueue (``jobrunner/batch/``) sends them in one write: one moment, and one
        header built for all of them instead of one per task.
        """
        now = _now()
        shared = _header(now)
        create = self._registry.create_message  # type: ignore[attr-defined]
        serialize = self.serializer.serialize  # type: ignore[attr-defined]
        out = []
        for task in tasks:
            when = task.__dict__.get("enqueued_at")
            if when is None:
                task.enqueued_at = now
                head = shared
            else:
                head = _header(when)
            # huey's serialize_task is these two calls; they are made here without its
            # method lookups because this loop is most of a batch's cost.
            out.append(head + serialize(create(task)))
        return out

    def deserialize_task(self, data: bytes) -> Task:
        when, body = split(data)
        task: Task = super().deserialize_task(body)  # type: ignore[misc]
        task.enqueued_at = when
        return task

    def _requeue_task(self, task: Task, timestamp: datetime, retry_eta: Any = None) -> None:
        task.enqueued_at = None
        super()._requeue_task(task, timestamp, retry_eta)  # type: ignore[misc]


def stamped_class(base: type[huey.Huey]) -> type[huey.Huey]:
    """``base`` (a huey class) with :class:`EnqueueTimes`; same name, subclass of ``base``."""
    return type(base.__name__, (EnqueueTimes, base), {"__module__": __name__})
