"""Liveness and readiness of a running runner: ``/healthz``, ``/readyz`` and their checks.

Liveness (``/healthz``): ``supervisor``, the runner's main loop (signals, reloads, worker
restarts) ran within :attr:`Health.liveness_window` seconds. It fails only when restarting
the process is the cure.

Readiness (``/readyz``), per running instance NAME:

- ``storage:NAME``: the latest storage probe answered, within :attr:`Health.storage_window`
  seconds. A prober thread asks every :attr:`Health.probe_interval` seconds; a probe that
  raises fails the check at once, one that hangs once the window has passed.
- ``scheduler:NAME`` (where the instance fires schedules): the scheduler's loop ran within
  :attr:`Health.scheduler_window` seconds (two minutes) and its thread or process is alive.
- ``workers:NAME``: every worker thread or process is alive.

Each answer is JSON naming every check with ``ok`` and a ``detail``; 503 when one fails.
Details name exception classes, never messages (which may hold a URL with a password).
The windows are attributes so tests can shorten them; no config key or variable reaches them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from jobrunner.runtime import Runner

log = logging.getLogger("jobrunner.http")


@dataclass(frozen=True)
class Check:
    """One named check and its verdict."""

    name: str
    ok: bool
    detail: str


class Health:
    """The checks of ``runner``, and the thread probing its storages."""

    liveness_window = 30.0
    storage_window = 10.0
    scheduler_window = 120.0
    probe_interval = 2.0

    def __init__(self, runner: Runner, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.runner = runner
        self.clock = clock
        self._answered: dict[str, float] = {}
        self._failure: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Called with the instance name on each failed probe (the metrics count them).
        self.on_failure: Callable[[str], None] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._probe_loop, name="health-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # Checks -------------------------------------------------------------------------------

    def liveness(self) -> list[Check]:
        age = self.clock() - self.runner.heartbeat
        ok = age < self.liveness_window
        detail = f"main loop ran {age:.1f}s ago" + ("" if ok else " (wedged?)")
        return [Check("supervisor", ok, detail)]

    def readiness(self) -> list[Check]:
        checks: list[Check] = []
        for name, consumer in list(self.runner.consumers.items()):
            checks.append(self._storage(name))
            if consumer.periodic:
                checks.append(self._scheduler(name, consumer))
            checks.append(self._workers(name, consumer))
        return checks

    def _storage(self, name: str) -> Check:
        check = f"storage:{name}"
        failure = self._failure.get(name)
        if failure is not None:  # the latest probe failed
            return Check(check, False, f"does not answer ({failure})")
        answered = self._answered.get(name)
        if answered is None:
            return Check(check, False, "not probed yet")
        age = self.clock() - answered
        if age < self.storage_window:
            return Check(check, True, f"answered {age:.1f}s ago")
        return Check(check, False, f"no answer for {age:.1f}s (the probe hangs)")

    def _scheduler(self, name: str, consumer: Any) -> Check:
        check = f"scheduler:{name}"
        if not consumer.environment.is_alive(consumer.scheduler):
            return Check(check, False, "scheduler thread or process is not running")
        age = self.clock() - consumer.scheduler_impl.heartbeat.value
        if age < self.scheduler_window:
            return Check(check, True, f"ticked {age:.1f}s ago")
        return Check(check, False, f"no tick for {age:.0f}s (stuck?)")

    def _workers(self, name: str, consumer: Any) -> Check:
        total = len(consumer.worker_threads)
        alive = sum(1 for _, w in consumer.worker_threads if consumer.environment.is_alive(w))
        return Check(f"workers:{name}", alive == total, f"{alive} of {total} alive")

    # Probing ------------------------------------------------------------------------------

    def _probe_loop(self) -> None:
        while not self._stop.is_set():
            for name, consumer in list(self.runner.consumers.items()):
                self.probe(name, consumer)
            self._stop.wait(self.probe_interval)

    def probe(self, name: str, consumer: Any) -> None:
        """Ask the storage of ``consumer`` one cheap question and note when it answered."""
        try:
            consumer.huey.storage.queue_size()
        except Exception as exc:  # any failure is the storage not answering
            failure = type(exc).__name__
            if self.on_failure is not None:
                self.on_failure(name)
            if self._failure.get(name) != failure:
                log.warning("health: storage of instance %s does not answer (%s)", name, failure)
            self._failure[name] = failure
            return
        if self._failure.pop(name, None) is not None:
            log.info("health: storage of instance %s answers again", name)
        self._answered[name] = self.clock()


def health_routes(health: Health) -> list[Route]:
    """``/healthz`` and ``/readyz`` for ``health``."""

    async def healthz(request: Request) -> JSONResponse:
        return _answer(health.liveness())

    async def readyz(request: Request) -> JSONResponse:
        return _answer(health.readiness())

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def _answer(checks: list[Check]) -> JSONResponse:
    ok = all(check.ok for check in checks)
    body = {
        "status": "ok" if ok else "failing",
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JSONResponse(body, status_code=200 if ok else 503)
