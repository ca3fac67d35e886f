"""Worker-side half of ``overlap: skip``: keep a schedule's marker true while its run lives.

The scheduler sets the marker (state ``queued``) when it enqueues a run. huey signals, which run
in the process that executes the task, then move it along:

- ``executing``: state ``running``, expiring one lease from now; a background thread renews it
  every third of a lease for as long as the task runs. A worker killed mid-run stops renewing,
  so the marker lapses one lease later and the schedule fires again.
- ``complete``, and ``error`` / ``timeout`` / ``locked`` / ``rate-limited`` / ``canceled``
  with no retry left, and ``revoked`` / ``expired`` / ``interrupted``: the marker is removed.
- ``retrying``: state ``queued`` again until the retry starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import huey
from huey import signals as S

from jobrunner.scheduling._state import ScheduleState

log = logging.getLogger("jobrunner.scheduler")

# How long a run may sit in the queue (enqueued, or waiting for a retry) before its marker stops
# blocking the schedule. Nobody can renew a queued run's marker, so this is the bound on how long
# a message lost from the queue can hold a schedule back.
QUEUED_LEASE = 3600.0

_DONE = (S.SIGNAL_COMPLETE, S.SIGNAL_REVOKED, S.SIGNAL_EXPIRED, S.SIGNAL_INTERRUPTED)
# Failures after which huey retries when the task has retries left (``task.retries`` is the
# count left, already adjusted where huey adjusts it before emitting).
_FAILED = (
    S.SIGNAL_ERROR,
    S.SIGNAL_TIMEOUT,
    S.SIGNAL_LOCKED,
    S.SIGNAL_RATE_LIMITED,
    S.SIGNAL_CANCELED,
)


def install_overlap_hooks(
    app_huey: huey.Huey, lease: float, clock: Callable[[], float] = time.time
) -> None:
    """Connect the marker-keeping signal handlers to ``app_huey`` (once; later calls update
    the lease and clock). Must run before the consumer forks its workers.

    ``clock`` gives epoch seconds; it must agree with the scheduler's, which reads the expiry.
    """
    existing: _Hooks | None = getattr(app_huey, "_jobrunner_overlap_hooks", None)
    if existing is not None:
        existing.lease = lease
        existing.clock = clock
        return
    hooks = _Hooks(app_huey, lease, clock)
    app_huey._jobrunner_overlap_hooks = hooks
    app_huey.signal(S.SIGNAL_EXECUTING)(hooks.on_executing)
    app_huey.signal(*_DONE)(hooks.on_done)
    app_huey.signal(*_FAILED)(hooks.on_failed)
    app_huey.signal(S.SIGNAL_RETRYING)(hooks.on_retrying)


def _skip_schedule(task: Any) -> str | None:
    """The schedule name of ``task`` when it belongs to an ``overlap: skip`` schedule."""
    config = getattr(type(task), "schedule_config", None)
    if config is None or getattr(config, "overlap", "allow") != "skip":
        return None
    return str(config.name)


class _Hooks:
    def __init__(self, app_huey: huey.Huey, lease: float, clock: Callable[[], float]) -> None:
        self.huey = app_huey
        self.lease = lease
        self.clock = clock
        self._renewer = _Renewer(self)

    def state(self) -> ScheduleState:
        return ScheduleState(self.huey.storage, self.clock)

    def on_executing(self, signal: str, task: Any, *args: Any) -> None:
        name = _skip_schedule(task)
        if name is None:
            return
        try:
            marker = self.state().marker(name)
            tick = marker.tick if marker is not None and marker.task_id == task.id else "?"
            self.state().set_marker(name, task.id, tick, "running", self.lease)
            self._renewer.add(task.id, name, tick)
        except Exception:
            log.exception("schedule %s: could not mark run %s as running", name, task.id)

    def on_done(self, signal: str, task: Any, *args: Any) -> None:
        self._finish(task)

    def on_failed(self, signal: str, task: Any, *args: Any) -> None:
        if not task.retries:
            self._finish(task)
        else:
            # huey emits "retrying" next (or, for a pre-execute cancel, nothing): stop renewing
            # and let the lease decide if no retry comes.
            self._renewer.discard(task.id)

    def on_retrying(self, signal: str, task: Any, *args: Any) -> None:
        name = _skip_schedule(task)
        if name is None:
            return
        self._renewer.discard(task.id)
        try:
            marker = self.state().marker(name)
            tick = marker.tick if marker is not None else "?"
            delay = float(task.retry_delay or 0)
            self.state().set_marker(name, task.id, tick, "queued", delay + QUEUED_LEASE)
        except Exception:
            log.exception("schedule %s: could not mark run %s as queued", name, task.id)

    def _finish(self, task: Any) -> None:
        name = _skip_schedule(task)
        if name is None:
            return
        self._renewer.discard(task.id)
        try:
            self.state().clear_marker(name, task.id)
        except Exception:
            log.exception("schedule %s: could not clear the marker of run %s", name, task.id)


class _Renewer:
    """One daemon thread per process extending the markers of the runs it is executing."""

    def __init__(self, hooks: _Hooks) -> None:
        self._hooks = hooks
        self._runs: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None

    def add(self, task_id: str, name: str, tick: str) -> None:
        with self._lock:
            self._runs[task_id] = (name, tick)
            # Threads do not survive a fork: a process worker starts its own.
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(
                    target=self._run, name="jobrunner-overlap-lease", daemon=True
                ).start()

    def discard(self, task_id: str) -> None:
        with self._lock:
            self._runs.pop(task_id, None)

    def _run(self) -> None:
        while True:
            lease = self._hooks.lease
            self._wake.wait(max(lease / 3, 0.05))
            with self._lock:
                runs = list(self._runs.items())
            started = time.monotonic()
            for task_id, (name, tick) in runs:
                try:
                    # Under the lock, so a run that finishes meanwhile (discard, then clear)
                    # cannot have its marker written back after it was cleared.
                    with self._lock:
                        if task_id in self._runs:
                            self._hooks.state().set_marker(name, task_id, tick, "running", lease)
                except Exception:
                    log.exception(
                        "schedule %s: could not renew the marker of run %s", name, task_id
                    )
            if time.monotonic() - started > lease / 3:
                log.warning("renewing overlap markers took longer than a third of the lease")
