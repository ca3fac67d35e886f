"""Workers of a polling storage stop polling in step (``jobrunner/_polling.py``).

The workers sleep on a stop flag that only records how long it was asked to
wait, so each worker's poll moments are computed on a virtual clock: the test
is exact and takes no time.
"""

from __future__ import annotations

import bisect
import random
import statistics
from collections.abc import Iterator

import huey
import pytest
from huey.consumer import Worker

from jobrunner._polling import JITTER, PollingWorker

# jobrunner's consumer defaults: initial_delay, backoff, max_delay.
INITIAL, BACKOFF, MAXIMUM = 0.01, 1.5, 0.05


class _RecordingFlag:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return False


@pytest.fixture(autouse=True)
def _seeded() -> Iterator[None]:
    state = random.getstate()
    random.seed(20261128)
    yield
    random.setstate(state)


def _polls(worker_class: type[Worker], until: float) -> list[float]:
    """The moments one worker, started at 0 on an empty queue, looks at the queue."""
    flag = _RecordingFlag()
    worker = worker_class(huey.MemoryHuey("polls"), flag, INITIAL, MAXIMUM, BACKOFF)
    moments, now = [0.0], 0.0
    while now < until:
        worker.sleep()
        now += flag.waits[-1]
        moments.append(now)
    return moments


def _mean_wait(worker_class: type[Worker], workers: int) -> float:
    """Mean time from a task's arrival to the next look by any worker, over arrivals
    spread evenly across 1-3 s after the workers started together."""
    polls = sorted(m for _ in range(workers) for m in _polls(worker_class, 4.0))
    arrivals = [1.0 + i * 0.0005 for i in range(4000)]
    return statistics.mean(polls[bisect.bisect_right(polls, t)] - t for t in arrivals)


def test_four_workers_started_together_poll_at_moments_of_their_own() -> None:
    # huey's workers stay in step: four look like one, half of max_delay on average.
    assert _mean_wait(Worker, 4) == pytest.approx(MAXIMUM / 2, rel=0.05)
    # Spread out, four workers find a task in about a fifth of max_delay.
    assert _mean_wait(PollingWorker, 4) < MAXIMUM / 4


def test_sleeps_keep_hueys_backoff_within_the_jitter() -> None:
    flag = _RecordingFlag()
    worker = PollingWorker(huey.MemoryHuey("backoff"), flag, INITIAL, MAXIMUM, BACKOFF)
    for _ in range(2000):
        worker.sleep()
    expected = [min(INITIAL * BACKOFF ** min(n, 10), MAXIMUM) for n in range(2000)]
    for asked, base in zip(flag.waits, expected, strict=True):
        assert base * (1 - JITTER) <= asked <= base * (1 + JITTER)
    assert len(set(flag.waits)) == len(flag.waits)  # jittered, not huey's fixed sequence
    # The mean interval stays huey's: as many looks per second as in step.
    assert statistics.mean(flag.waits[10:]) == pytest.approx(MAXIMUM, rel=0.02)
