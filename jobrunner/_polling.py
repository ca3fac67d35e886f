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
"""

from __future__ import annotations

import random
from typing import Any

from huey.consumer import Worker

# Wide enough to scatter 4 workers within a second of idling (a random walk of
# about 7 ms per 50 ms sleep), narrow enough that no single gap grows much.
JITTER = 0.25


class PollingWorker(Worker):  # type: ignore[misc]
    """huey's Worker, its sleeps on an empty queue jittered so workers do not poll in step."""

    delay: float
    max_delay: float
    backoff: float
    stop_flag: Any

    def sleep(self) -> None:
        if self.delay > self.max_delay:
            self.delay = self.max_delay
        self.stop_flag.wait(self.delay * random.uniform(1 - JITTER, 1 + JITTER))
        self.delay *= self.backoff
