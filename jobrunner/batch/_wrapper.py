"""huey's ``TaskWrapper`` with a ``.map()`` that enqueues in batches.

``make_huey`` installs it as each huey object's ``task_wrapper_class``, so every handle
(``app.tasks.X``, and the generated handles that delegate to it) gets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from huey.api import ResultGroup, TaskWrapper

from jobrunner.batch._enqueue import BATCH_SIZE, enqueue_many


class BatchTaskWrapper(TaskWrapper):  # type: ignore[misc]  # huey is untyped
    """A task handle whose ``.map(items)`` sends one round trip (or transaction) per batch."""

    def map(self, it: Iterable[Any], batch_size: int = BATCH_SIZE) -> ResultGroup | None:
        """Enqueue one task per item (a tuple is the argument list), ``batch_size`` a batch.

        Returns huey's ``ResultGroup`` of the results in item order (None when the instance
        stores no results). Raises :class:`~jobrunner.errors.BulkEnqueueError` when a batch
        fails: it says how many tasks were enqueued, and none is enqueued twice.
        """
        items = [i if isinstance(i, tuple) else (i,) for i in it]
        task_class = self.task_class
        # Task ids made here from one random read: uuid4() per task is a third of the
        # producer's cost of a bulk enqueue (docs/performance.md).
        tasks = [
            task_class(args, {}, id=id)
            for args, id in zip(items, task_ids(len(items)), strict=True)
        ]
        results = enqueue_many(self.huey, tasks, batch_size)
        return ResultGroup(results) if self.huey.results else None


def task_ids(count: int) -> list[str]:
    """``count`` random ids shaped like huey's (``str(uuid.uuid4())``)."""
    raw = os.urandom(16 * count).hex()
    ids = []
    for start in range(0, 32 * count, 32):
        x = raw[start : start + 32]
        ids.append(f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}")
    return ids


# RFC 4122's variant bits (10xx) set on the 17th hex digit, as uuid4() does.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
