"""Workers of a polling storage look at an empty queue at moments of their own.

huey's workers start together and, on an empty queue, sleep by the same sequence
(``initial_delay`` times ``backoff`` to the n-th, capped at ``max_delay``). So
the workers that have not run a task since the start poll in step: four workers
that each look every 50 ms look like one, and a task sent to a consumer after a
quiet spell waits 25 ms on average before it is taken, up to 50 ms, instead of
about 10 (measured with strace on a SQLite consumer with 4 thread workers: the
four polls within 2 ms of each other, 50 ms apart).

Here each sleep is drawn from +-25% around huey's. The mean interval is huey's,
and the workers' moments drift apart within a few sleeps. The idle CPU is not
huey's: four wake-ups apart cost more than four together (an idle SQLite
consumer with 4 workers: about 1.7% of a core against 1.1%; docs/performance.md
has the trade). Storages that block on the queue (Redis, PostgreSQL) never get here.

A storage that cannot be reached is reported through the instance's
:class:`~jobrunner._outage.Outage` (one line per backoff step), where huey's loop
logs a traceback per failed read.
"""

from __future__ import annotations

import random
from typing import Any

from huey.consumer import Worker, WorkerRecycle

from jobrunner._outage import is_storage_error, outage_of

# Wide enough to scatter 4 workers within a second of idling (a random walk of
# about 7 ms per 50 ms sleep), narrow enough that no single gap grows much.
JITTER = 0.25


class PollingWorker(Worker):  # type: ignore[misc]
    """huey's Worker, its sleeps on an empty queue jittered so workers do not poll in step."""

    delay: float
    max_delay: float
    backoff: float
    stop_flag: Any
    huey: Any

    def __init__(self, huey: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(huey, *args, **kwargs)
        self.outage = outage_of(huey)

    def loop(self, now: Any = None) -> None:
        try:
            task = self.huey.dequeue()
        except Exception as exc:
            if not is_storage_error(exc):
                self._logger.exception("Error reading from queue")
                self.sleep()
                return
            self.stop_flag.wait(self.outage.failed(exc))
            return
        self.outage.ok()
        if task is None:
            if not self.huey.storage.blocking:
                self.sleep()
            return
        # huey's own handling of a taken task, unchanged.
        self.delay = self.default_delay
        self.task_count += 1
        try:
            self.huey.execute(task, now)
        except Exception as exc:
            if is_storage_error(exc):  # huey failed to store the result or a retry
                self.outage.failed(exc)
            else:
                self._logger.exception("Unhandled error during execution of task %s.", task.id)
        if self.max_tasks and self.task_count >= self.max_tasks:
            self._logger.info("Worker reached max tasks (%d), exiting.", self.max_tasks)
            raise WorkerRecycle()

    def sleep(self) -> None:
        if self.delay > self.max_delay:
            self.delay = self.max_delay
        self.stop_flag.wait(self.delay * random.uniform(1 - JITTER, 1 + JITTER))
        self.delay *= self.backoff
