"""A blocking ``Result.get()`` on Redis that outlasts the client's socket timeout.

huey waits for a result with one ``BLPOP`` for the whole timeout and reads a socket
timeout as "no result". redis-py 8 gives every connection a 5 s socket timeout by default,
so ``result.get(blocking=True, timeout=60)`` gave up after 5 s with ``ResultTimeout``
while the task was still queued. Here the wait is a series of short ``BLPOP``\\s, each well
under the socket timeout, until the result arrives or the caller's timeout ends; a dropped
connection is retried by the next step instead of ending the wait.
"""

from __future__ import annotations

import time
from typing import Any

import redis

# The longest single BLPOP: one round trip a second while a producer waits.
BLOCK_STEP = 1.0
# Redis 6+ takes a fractional BLPOP timeout; 0 would mean "forever".
SHORTEST_BLOCK = 0.01


class RedisResultWait:
    """``wait_result`` for huey's Redis storages (``notify_result`` on)."""

    conn: redis.Redis
    notify_result: bool
    notify_prefix: str

    def has_data_for_key(self, key: str) -> bool:
        return bool(super().has_data_for_key(key))  # type: ignore[misc]

    def wait_result(
        self, key: str, timeout: float | None = None, backoff: float = 1.15, max_delay: float = 1.0
    ) -> bool:
        if not self.notify_result:
            return bool(super().wait_result(key, timeout, backoff, max_delay))  # type: ignore[misc]
        deadline = None if timeout is None else time.monotonic() + timeout
        step = self._block_step()
        notify_key = self.notify_prefix + key
        while True:
            try:
                if self.has_data_for_key(key):
                    return True
                left = step if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return False
                if self.conn.blpop([notify_key], timeout=max(min(step, left), SHORTEST_BLOCK)):
                    self.conn.delete(notify_key)
                    return True
            except (redis.ConnectionError, redis.TimeoutError):
                # The server went away or answered late: try again within the deadline.
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                time.sleep(min(max_delay, step))

    def _block_step(self) -> float:
        kwargs: dict[str, Any] = self.conn.connection_pool.connection_kwargs
        socket_timeout = kwargs.get("socket_timeout")
        if socket_timeout:
            return min(BLOCK_STEP, float(socket_timeout) / 2)
        return BLOCK_STEP
