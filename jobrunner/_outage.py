"""A storage that cannot be reached, as one instance tells it: once when it goes, once per
backoff step while it stays gone, once when it comes back.

Every part of a consumer touches the storage on its own: each worker, the
scheduler, the lease heartbeat, a reload's drain. Each logging its own failures
(huey's loops log a traceback each time, every second or faster) turns a
six-second outage into thousands of lines. Here they share one :class:`Outage`
per huey object: the first failure opens it, everyone waits for the same next
try, and the retries double from :data:`FIRST_RETRY` up to :data:`MAX_RETRY`
seconds, one log line per step whatever the number of workers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from jobrunner._forksafe import after_fork

log = logging.getLogger("jobrunner.storage")

FIRST_RETRY = 1.0
MAX_RETRY = 30.0
# A caller told to wait less than this (its try raced the step's end) still pauses.
_MIN_WAIT = 0.05


def is_storage_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the storage cannot be reached (or written), not a bug or bad data."""
    import sqlite3

    import redis

    kinds: tuple[type[BaseException], ...] = (
        redis.ConnectionError,
        redis.TimeoutError,
        # Something else answers on the port (a proxy, an HTTP server), or a replica after
        # a failover refuses writes: no use to the runner until that changes.
        redis.exceptions.InvalidResponse,
        redis.exceptions.ReadOnlyError,
        sqlite3.OperationalError,
        ConnectionError,
    )
    try:
        import psycopg

        kinds += (psycopg.OperationalError, psycopg.InterfaceError)
    except ImportError:
        pass
    return isinstance(exc, kinds)


def describe_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """``Type: message`` of ``exc`` on one line (libpq's run over several), ``secrets`` masked."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    # Longest first: a secret that contains another is masked whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class Outage:
    """The reachability of one storage, shared by every thread of one instance's consumers.

    ``label`` starts each line (``instance NAME``); ``secrets`` are masked in them.
    """

    def __init__(
        self,
        label: str,
        secrets: Iterable[str] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.clock = clock
        # A forked process worker stays quiet: its parent's heartbeat (or its scheduler)
        # reports the outage once for the instance.
        self.quiet = False
        self.reported_by_parent = False
        # What to try at each backoff step to end the outage (SQLite's WAL checkpoint).
        self.relieve: Callable[[], None] | None = None
        self.since: float | None = None
        self._step = FIRST_RETRY
        self._next_try = 0.0
        self._lock = threading.Lock()
        after_fork(self, _reset_after_fork)

    @property
    def down(self) -> bool:
        return self.since is not None

    @property
    def next_try(self) -> float:
        """When the current step ends (on ``clock``): the next try of an open outage."""
        return self._next_try

    def failed(self, exc: BaseException) -> float:
        """Record a failed call to the storage; return the seconds to wait before the next."""
        now = self.clock()
        line: str | None = None
        with self._lock:
            if self.since is None:
                self.since = now
                self._step = FIRST_RETRY
                self._next_try = now + self._step
                line = f"storage unreachable ({self.describe(exc)}); retrying in {self._step:g}s"
            elif now >= self._next_try:
                self._step = min(self._step * 2, MAX_RETRY)
                self._next_try = now + self._step
                line = (
                    f"storage still unreachable after {now - self.since:.0f}s "
                    f"({self.describe(exc)}); retrying in {self._step:g}s"
                )
            wait = max(self._next_try - now, _MIN_WAIT)
        if line is not None:
            if not self.quiet:
                log.warning("%s: %s", self.label, line)
            self._relieve()
        return wait

    def ok(self) -> None:
        """The storage answered: report the end of an outage, if there was one."""
        if self.since is None:
            return
        with self._lock:
            since, self.since = self.since, None
        if since is None:
            return
        # First, before the work resumes: on a disk that was full, the space just freed
        # must go to the database, not to a write-ahead log that grows into it again.
        self._relieve()
        if not self.quiet:
            log.warning("%s: storage reachable again after %.1fs", self.label, self.clock() - since)

    def _relieve(self) -> None:
        if self.relieve is not None:
            try:
                self.relieve()
            except Exception:
                log.debug("%s: relief failed", self.label, exc_info=True)

    def describe(self, exc: BaseException) -> str:
        """``Type: message`` of ``exc`` on one line, the instance's secrets masked."""
        return describe_error(exc, self.secrets)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def outage_of(app_huey: Any, label: str | None = None, secrets: Iterable[str] = ()) -> Outage:
    """The :class:`Outage` of ``app_huey``'s storage, made on first use."""
    outage: Outage | None = app_huey.__dict__.get("_jobrunner_outage")
    if outage is None:
        outage = Outage(label or f"instance {app_huey.name}", secrets)
        outage.relieve = getattr(app_huey.storage, "relieve", None)
        app_huey._jobrunner_outage = outage
    return outage


def _reset_after_fork(outage: Outage) -> None:
    outage._lock = threading.Lock()
    outage.quiet = True
