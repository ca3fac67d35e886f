"""The gauges of ``/metrics`` read at scrape time: storage figures, workers, schedules.

Storage figures (queue depth, scheduled, in flight, dead letters, live consumers, schedule
fire times) come from the status snapshot (:func:`jobrunner.status.snapshot`), taken at most
once per :attr:`RunnerCollector.cache_seconds` whatever the scrape rate: a scrape costs at
most the snapshot's few round trips per instance, and usually none. An instance whose storage
does not answer has no storage gauges in that scrape (a stale figure would lie) and counts a
storage error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobrunner import events
from jobrunner.errors import JobRunnerError
from jobrunner.events._model import parse_ts
from jobrunner.status import Status, snapshot

if TYPE_CHECKING:
    from jobrunner.runtime import Runner

log = logging.getLogger("jobrunner.http")


class Busy:
    """Runs started and not yet ended in this runner, per instance (from the events)."""

    def __init__(self) -> None:
        self._running: dict[str, set[str | None]] = {}

    def started(self, instance: str, run: str | None) -> None:
        self._running.setdefault(instance, set()).add(run)

    def ended(self, instance: str, run: str | None) -> None:
        self._running.get(instance, set()).discard(run)

    def count(self, instance: str) -> int:
        return len(self._running.get(instance, ()))


class RunnerCollector(Collector):
    """Gauges of the runner's state, the storage ones from a cached snapshot."""

    cache_seconds = 5.0

    def __init__(self, runner: Runner, busy: Busy, storage_errors: Counter) -> None:
        self.runner = runner
        self.busy = busy
        self.storage_errors = storage_errors
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[float, Status | None]] = {}
        self._fired: dict[tuple[str, str], float] = {}

    def fired(self, instance: str, schedule: str, tick: str | None) -> None:
        """Note a fire seen in this runner's events (fresher than the cached snapshot)."""
        if tick:
            key = (instance, schedule)
            self._fired[key] = max(self._fired.get(key, 0.0), parse_ts(tick))

    def snapshots(self) -> dict[str, Status | None]:
        """The status of each running instance, refreshed when older than the cache time."""
        with self._lock:
            config = self.runner.app_or_fail().config
            now = time.monotonic()
            result: dict[str, Status | None] = {}
            for name in list(self.runner.consumers):
                taken, status = self._snapshots.get(name, (float("-inf"), None))
                if now - taken >= self.cache_seconds and name in config.instances:
                    status = self._take(config, name)
                    self._snapshots[name] = (now, status)
                result[name] = status
            return result

    def _take(self, config: Any, name: str) -> Status | None:
        try:
            return snapshot(config, instance=name)
        except JobRunnerError as exc:  # StorageError: the message is masked already
            log.debug("metrics: no snapshot of instance %s: %s", name, exc)
            self.storage_errors.labels(name).inc()
            return None
        except Exception as exc:  # one instance must not fail the whole scrape
            # The type only: a driver's message may hold a URL with its password.
            log.warning("metrics: no snapshot of instance %s (%s)", name, type(exc).__name__)
            self.storage_errors.labels(name).inc()
            return None

    def collect(self) -> Iterator[Metric]:
        statuses = self.snapshots()
        consumers = dict(self.runner.consumers)
        workers = GaugeMetricFamily(
            "jobrunner_workers", "Workers of this runner by state.", labels=["instance", "state"]
        )
        for name, consumer in consumers.items():
            total = len(consumer.worker_threads)
            busy = min(self.busy.count(name), total)
            workers.add_metric([name, "busy"], busy)
            workers.add_metric([name, "idle"], total - busy)
        yield workers
        yield from self._storage(statuses, consumers)
        yield from self._schedules(statuses)
        generation = GaugeMetricFamily(
            "jobrunner_config_generation",
            "Generation of the running config: 1 at start, +1 per applied reload.",
        )
        generation.add_metric([], events.hub().generation or 1)
        yield generation
        dropped = CounterMetricFamily(
            "jobrunner_events_dropped",
            "Events dropped because the event buffer was full.",
        )
        dropped.add_metric([], events.hub().dropped)
        yield dropped

    def _storage(
        self, statuses: dict[str, Status | None], consumers: dict[str, Any]
    ) -> Iterator[Metric]:
        labels = ["instance"]
        depth = GaugeMetricFamily(
            "jobrunner_queue_depth", "Tasks waiting in the queue.", labels=labels
        )
        scheduled = GaugeMetricFamily(
            "jobrunner_scheduled_tasks",
            "Tasks waiting for their eta (delayed, retries).",
            labels=labels,
        )
        in_flight = GaugeMetricFamily(
            "jobrunner_in_flight_tasks",
            "Tasks taken by a consumer and not finished.",
            labels=labels,
        )
        dead = GaugeMetricFamily(
            "jobrunner_dead_letters", "Tasks in the dead letters.", labels=labels
        )
        up = GaugeMetricFamily(
            "jobrunner_consumers_up",
            "Consumers of the instance alive (every runner, from their heartbeat records; "
            "this runner's own where the instance keeps no history).",
            labels=labels,
        )
        for name, status in statuses.items():
            if status is None or not status.instances:
                continue
            inst = status.instances[0]
            depth.add_metric([name], inst.queue_depth)
            scheduled.add_metric([name], inst.scheduled)
            in_flight.add_metric([name], sum(f.count for f in inst.in_flight))
            if inst.dead_letters is not None:
                dead.add_metric([name], inst.dead_letters)
            live = sum(1 for c in inst.consumers if c.live) if inst.history else 0
            up.add_metric([name], max(live, 1 if name in consumers else 0))
        yield from (depth, scheduled, in_flight, dead, up)

    def _schedules(self, statuses: dict[str, Status | None]) -> Iterator[Metric]:
        labels = ["instance", "schedule"]
        last = GaugeMetricFamily(
            "jobrunner_schedule_last_fire_timestamp_seconds",
            "Tick (Unix time) of the schedule's last fire, by any runner.",
            labels=labels,
        )
        upcoming = GaugeMetricFamily(
            "jobrunner_schedule_next_fire_timestamp_seconds",
            "Unix time of the schedule's next fire.",
            labels=labels,
        )
        for name, status in statuses.items():
            if status is None:
                continue
            for schedule in status.schedules:
                key = (name, schedule.name)
                seen = self._fired.get(key)
                fire = schedule.last_fire
                stored = parse_ts(fire.tick) if fire is not None and fire.tick else None
                latest = max((t for t in (seen, stored) if t is not None), default=None)
                if latest is not None:
                    last.add_metric(list(key), latest)
                if schedule.next_fire is not None:
                    upcoming.add_metric(list(key), schedule.next_fire.timestamp())
        yield from (last, upcoming)
