"""Hand-written plain huey: the application a huey user would write for the same tasks.

Both the benchmark (producer) and ``_huey_consumer`` (consumer) build it here, so
the two sides agree on task names (``benchmarks._tasks.noop`` / ``.ping``).
"""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from benchmarks._tasks import noop, ping


def make_huey(backend: str, target: str, queue: str) -> Huey:
    """huey's own class for ``backend`` with huey's defaults: only the location is given."""
    if backend == "redis":
        return RedisHuey(queue, url=target)
    if backend == "sqlite":
        return SqliteHuey(queue, filename=target)
    raise ValueError(f"unknown backend {backend!r}")


def register(huey: Huey) -> dict[str, TaskWrapper]:
    """``@huey.task()`` on each task function, as in a huey application module."""
    return {"noop": huey.task()(noop), "ping": huey.task()(ping)}
