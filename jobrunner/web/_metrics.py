"""``/metrics``: the runner's figures in the Prometheus text format (prometheus-client).

Counters and histograms come from the runner's events (``jobrunner.events.subscribe``), so
process workers' runs count too (their events are forwarded to the parent). Gauges that read
the storages come from the status snapshot, cached (:mod:`jobrunner.web._gauges`). Labels are
config keys and fixed words (instance, task, schedule, outcome, reason, result), never task
arguments or ids, so the number of series is bounded by the config.

Each endpoint has its own :class:`~prometheus_client.CollectorRegistry` (never the global one,
so a second runner in one process cannot collide). docs/operations.md lists every metric.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import huey
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jobrunner import __version__, events
from jobrunner.events import Event
from jobrunner.web._gauges import Busy, RunnerCollector

if TYPE_CHECKING:
    from jobrunner.runtime import Runner

# The `_created` series double the output and no alerting rule needs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Run outcomes counted by jobrunner_task_runs_total (the recovered ones have no task label:
# a lease store knows how many tasks a dead consumer held, not which).
RUN_OUTCOMES = events.OUTCOMES | {events.RECOVERED}
_SCHEDULE_FIRES = frozenset({events.FIRED, events.CAUGHT_UP})
_RELOADS = {events.RELOAD_APPLIED: "applied", events.RELOAD_REJECTED: "rejected"}

# Task runs last from milliseconds to hours.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
# How long a task waits to start after its enqueue or eta, and a schedule fires after its tick.
DELAY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The registry of one runner's metrics, fed by its events; :meth:`close` unsubscribes."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.registry = CollectorRegistry()
        r = self.registry
        Info("jobrunner_build", "Versions of jobrunner, huey and Python.", registry=r).info(
            {
                "version": __version__,
                "huey_version": huey.__version__,
                "python_version": platform.python_version(),
            }
        )
        self.runs = Counter(
            "jobrunner_task_runs",
            "Task runs (attempts) by how they ended.",
            ["instance", "task", "outcome"],
            registry=r,
        )
        self.duration = Histogram(
            "jobrunner_task_run_duration_seconds",
            "How long a run took, from start to its end (complete, error, timeout...).",
            ["instance", "task"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.start_delay = Histogram(
            "jobrunner_task_start_delay_seconds",
            "How long a task waited to start, from its enqueue or its later eta.",
            ["instance", "task"],
            buckets=DELAY_BUCKETS,
            registry=r,
        )
        self.fire_lag = Histogram(
            "jobrunner_schedule_fire_lag_seconds",
            "How long after its tick a schedule's run was enqueued.",
            ["instance", "schedule"],
            buckets=DELAY_BUCKETS,
            registry=r,
        )
        self.skipped = Counter(
            "jobrunner_schedule_skipped_runs",
            "Schedule ticks not run, by reason (disabled, paused, overlap).",
            ["instance", "schedule", "reason"],
            registry=r,
        )
        self.reloads = Counter(
            "jobrunner_reloads", "Config reloads by result.", ["result"], registry=r
        )
        self.storage_errors = Counter(
            "jobrunner_storage_errors",
            "Failed storage reads of the endpoint (health probes, gauge reads).",
            ["instance"],
            registry=r,
        )
        # labels() validates and locks on each call: the dispatcher keeps the children it made.
        self._children: dict[tuple[object, ...], Any] = {}
        self.busy = Busy()
        self.collector = RunnerCollector(runner, self.busy, self.storage_errors)
        r.register(self.collector)
        self._unsubscribe = events.subscribe(self.on_events)

    def close(self) -> None:
        self._unsubscribe()

    def on_events(self, batch: Sequence[Event]) -> None:
        """Count a batch of events (on the event dispatcher thread)."""
        for event in batch:
            status = event.status
            instance = event.instance or ""
            if status == events.STARTED:
                self.busy.started(instance, event.id)
                ready = _ready_at(event)
                if ready is not None:
                    delay = max(event.ts - ready, 0.0)
                    self._child(self.start_delay, instance, event.task or "").observe(delay)
            elif status in RUN_OUTCOMES:
                self._outcome(event, instance)
            elif status in _SCHEDULE_FIRES:
                self.collector.fired(instance, event.schedule or "", event.tick)
                lag = (event.data or {}).get("lag")
                if isinstance(lag, int | float):
                    self.fire_lag.labels(instance, event.schedule or "").observe(max(lag, 0.0))
            elif status == events.SKIPPED:
                reason = str((event.data or {}).get("reason", "unknown"))
                self.skipped.labels(instance, event.schedule or "", reason).inc()
            elif status in _RELOADS:
                self.reloads.labels(_RELOADS[status]).inc()

    def _outcome(self, event: Event, instance: str) -> None:
        if event.status == events.RECOVERED:
            count = (event.data or {}).get("count", 1)
            self.runs.labels(instance, "", events.RECOVERED).inc(float(count or 1))
            return
        task = event.task or ""
        self._child(self.runs, instance, task, event.status).inc()
        if event.duration is not None:
            self._child(self.duration, instance, task).observe(event.duration)
        self.busy.ended(instance, event.id)

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The body and content type for a scraper's ``Accept`` header (text or OpenMetrics)."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def _ready_at(event: Event) -> float | None:
    """When a started task could first run: the later of its enqueue and its eta.

    A task enqueued with an eta already past waited only from its enqueue; None for a
    message with neither (plain huey's, without jobrunner's enqueue time)."""
    enqueued = (event.data or {}).get("enqueued_at")
    if not isinstance(enqueued, int | float):
        return event.execute_time
    if event.execute_time is None:
        return float(enqueued)
    return max(float(enqueued), event.execute_time)


def metrics_routes(metrics: Metrics) -> list[Route]:
    """``/metrics`` for ``metrics``."""

    async def endpoint(request: Request) -> Response:
        # Off the event loop: a gauge refresh waits for the storage.
        accept = request.headers.get("accept", "")
        body, content_type = await run_in_threadpool(metrics.exposition, accept)
        return Response(body, headers={"Content-Type": content_type})

    return [Route("/metrics", endpoint)]
