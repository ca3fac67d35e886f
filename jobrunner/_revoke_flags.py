"""A delivery worker clears a finished task's revoke flag in the round trip of its next take.

After every run huey clears the task's revoke flag (``Huey._execute`` calls
``delete(task.revoke_id)``), almost always a flag that is not there. On Redis
that is a round trip of its own, one of three per task (take, revoke check,
clear); on SQLite an exclusive transaction of its own. A delivery worker already
sends its acknowledgements with its next take, so the clear goes in the same
round trip or transaction, ahead of the take: a task costs two round trips
where plain huey's costs three.

Only that call is deferred, and only while a delivery worker runs a task: the
key is the running task's own flag and the task body is not running (huey has
not added it to, or has taken it out of, ``_tasks_in_flight``). A task body that
restores itself, a task lock being released (``TaskLock`` deletes its key) and
every other thread still go straight to the storage and get their answer.

huey clears the flag before it requeues a retry of the task (same id); a flag
still set would make the retry look revoked. So an enqueue from a worker with
clears pending sends them first (:func:`flush`), in huey's order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class _Running(threading.local):
    # A class default: a thread that never ran a task finds None without the
    # AttributeError a missing thread-local attribute costs (every enqueue asks).
    current: tuple[Any, Any, list[str]] | None = None


_local = _Running()


@contextmanager
def deferring(huey: Any, task: Any, pending: list[str]) -> Iterator[None]:
    """While this runs ``huey.execute(task)``, clearing its revoke flag appends to ``pending``."""
    _local.current = (huey, task, pending)
    try:
        yield
    finally:
        _local.current = None


def defer(key: str) -> bool:
    """From a storage's ``delete_data``: True when the delete of ``key`` was deferred."""
    current = _local.current
    if current is None:
        return False
    huey, task, pending = current
    in_flight = getattr(huey, "_tasks_in_flight", None)
    if in_flight is None or key != task.revoke_id or task in in_flight:
        return False
    pending.append(key)
    return True


def pending() -> bool:
    """Whether this thread's running task has clears waiting (cheap: every enqueue asks)."""
    current = _local.current
    return current is not None and bool(current[2])


def flush(delete: Callable[[str], Any]) -> None:
    """Send the deferred clears of this thread's running task now, through ``delete``."""
    current = _local.current
    if current is None:
        return
    keys = current[2]
    while keys:
        delete(keys[0])
        keys.pop(0)
