"""The process's event hub: a bounded buffer, one dispatcher thread, sinks and subscribers.

Emitting (:meth:`Hub.emit`) appends to a deque and returns: no lock, no I/O, no
JSON on the worker's hot path. One daemon thread per process (the dispatcher)
wakes every :data:`FLUSH_INTERVAL` seconds, stamps host and pid, hands the batch to
the subscribers, then to each instance's sinks. A sink that fails keeps its
events in its own bounded buffer, is retried with backoff and is logged once per
outage. When a buffer is full the oldest events are dropped and counted.

Process workers are forked children: their hub forwards each batch to the parent
through a Unix datagram socket pair made before the fork (a datagram arrives whole,
so several children can share it), and the parent's
dispatcher feeds them to its subscribers and sinks as if emitted there.
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from jobrunner.events._model import Event

log = logging.getLogger("jobrunner.events")

#: The dispatcher wakes this often: buffered events reach the sinks within about this long.
FLUSH_INTERVAL = 0.25
#: Events dispatched at a time: the dispatcher lets the workers run in between.
CHUNK = 100
#: Events kept while the sinks lag (per process, and per sink while it is down).
BUFFER_SIZE = 10_000

Subscriber = Callable[[Sequence[Event]], None]


class Sink(Protocol):
    """Where the events of one instance go: Redis pub/sub, a log, the history."""

    name: str

    def write(self, events: Sequence[Event]) -> None:
        """Write a batch; raise on failure (the hub keeps the batch and retries)."""

    def close(self) -> None: ...


class _SinkState:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.pending: deque[Event] = deque()
        self.dropped = 0
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.delay = 0.5


class Hub:
    """One per process (:func:`hub`); see the module docstring."""

    def __init__(self, size: int = BUFFER_SIZE) -> None:
        self.size = size
        self.generation: int | None = None
        self.dropped = 0
        self._buffer: deque[Any] = deque(maxlen=size)
        self._subscribers: list[Subscriber] = []
        self._sinks: dict[str, list[_SinkState]] = {}
        self._periodic: list[list[Any]] = []
        self._lock = threading.RLock()  # dispatching; sink and subscriber lists
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._forward: tuple[socket.socket, socket.socket] | None = None  # (parent, children)
        self.forward_dropped = 0
        self._child = False
        self.host = socket.gethostname()
        self.pid = os.getpid()

    # -- emitting (any thread, hot path) ------------------------------------------------------

    def emit(self, event: Event | tuple[Any, ...]) -> None:
        """Queue ``event`` for the sinks and subscribers; never blocks, never raises.

        A tuple ``(build, *args)`` is an event to be built by the dispatcher
        (``build(*args)``), so that a worker's signal handler only copies values.
        """
        buffer = self._buffer
        if len(buffer) == self.size:
            self.dropped += 1  # deque(maxlen) drops the oldest on append
        buffer.append(event)
        if self._thread is None:
            self._start_thread()

    def wait_for_room(self, deadline: float) -> None:
        """Wait, until ``time.monotonic()`` reaches ``deadline`` at most, while the buffer is
        more than half full: for a thread that can wait (the scheduler telling a tick of
        thousands of runs), so that its burst does not push out the events of the workers,
        or its own, before the dispatcher has written them."""
        while len(self._buffer) > self.size // 2 and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.005)

    # -- subscribers and sinks ----------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(batch)`` from the dispatcher thread with every batch of events.

        Returns the function that unsubscribes. A callback must be quick and must
        not raise (an exception is logged and the callback stays subscribed).
        """
        with self._lock:
            self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not callback]

        return unsubscribe

    def set_sinks(self, instance: str, sinks: Sequence[Sink]) -> None:
        """Replace the sinks of ``instance`` (after a flush to the old ones)."""
        self.flush()
        with self._lock:
            old = self._sinks.pop(instance, [])
            if sinks:
                self._sinks[instance] = [_SinkState(s) for s in sinks]
        for state in old:
            _close(state.sink)

    def has_sinks(self, instance: str) -> bool:
        return instance in self._sinks

    def every(self, seconds: float, job: Callable[[], None]) -> Callable[[], None]:
        """Run ``job()`` on the dispatcher thread every ``seconds``; returns the canceller."""
        entry: list[Any] = [seconds, 0.0, job]
        with self._lock:
            self._periodic.append(entry)
        self._start_thread()

        def cancel() -> None:
            with self._lock:
                if entry in self._periodic:
                    self._periodic.remove(entry)

        return cancel

    # -- process workers ----------------------------------------------------------------------

    def prepare_fork(self) -> None:
        """Create the queue that forked children forward their events through (before forking)."""
        if self._forward is None and not self._child:
            receiver, sender = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.setblocking(False)
            # A child whose parent is slow to read waits this long, then drops the batch.
            sender.settimeout(1.0)
            self._forward = (receiver, sender)

    def _after_fork_in_child(self) -> None:
        self._buffer = deque(maxlen=self.size)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._thread = None
        self._subscribers = []
        self._periodic = []
        self.pid = os.getpid()
        # The parent's sinks hold its connections: a child forwards instead.
        self._sinks = {}
        self._child = self._forward is not None
        if self._child:
            from multiprocessing.util import Finalize

            # Process workers end through multiprocessing, which skips atexit but runs these
            # (so the last batch is sent before the process ends).
            Finalize(self, Hub.flush, args=(self,), exitpriority=10)

    # -- dispatching --------------------------------------------------------------------------

    def flush(self) -> None:
        """Dispatch everything buffered now (a graceful stop calls this)."""
        with self._lock:
            self._dispatch(force=True)

    def stop(self) -> None:
        """Flush, then close every sink."""
        self.flush()
        with self._lock:
            sinks = [s for states in self._sinks.values() for s in states]
            self._sinks = {}
        for state in sinks:
            _close(state.sink)

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="jobrunner-events", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            try:
                with self._lock:
                    self._dispatch(force=False)
                    self._run_periodic()
            except Exception:  # the dispatcher must outlive a bug in one sink or subscriber
                log.exception("event dispatch failed (a bug: please report it)")

    def _drain(self, limit: int) -> list[Event]:
        buffer = self._buffer
        batch: list[Event] = []
        pop = buffer.popleft
        try:
            while len(batch) < limit:
                item = pop()
                if type(item) is tuple:
                    try:
                        item = item[0](*item[1:])
                    except Exception:
                        log.exception("could not build an event (a bug: please report it)")
                        continue
                batch.append(item)
        except IndexError:
            pass
        return batch

    def _dispatch(self, *, force: bool) -> None:
        forwarded = self._forwarded() if self._forward is not None and not self._child else []
        while True:
            batch = self._drain(CHUNK)
            self._dispatch_batch(forwarded + batch, force)
            forwarded = []
            if len(batch) < CHUNK:
                return
            # A CPU-bound thread keeps the GIL for the whole switch interval (5 ms) each
            # time a worker comes back from I/O and wants it (CPython's convoy effect):
            # by chunks, and letting go in between, the workers barely wait.
            time.sleep(0)

    def _dispatch_batch(self, batch: list[Event], force: bool) -> None:
        host, pid, generation = self.host, self.pid, self.generation
        for event in batch:
            if event.host is None:
                event.host = host
                event.pid = pid
            if event.generation is None:
                event.generation = generation
        if self._child:
            if batch:
                self._send([_fields(e) for e in batch])
            return
        if batch:
            for callback in self._subscribers:
                try:
                    callback(batch)
                except Exception:
                    log.exception("event subscriber %r failed", callback)
        now = time.monotonic()
        for instance, states in self._sinks.items():
            mine = [e for e in batch if e.instance == instance or e.instance is None]
            for state in states:
                self._write(state, mine, now, force)

    def _send(self, rows: list[tuple[Any, ...]]) -> None:
        assert self._forward is not None
        try:
            self._forward[1].send(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE and len(rows) > 1:  # long tracebacks: halve
                self._send(rows[: len(rows) // 2])
                self._send(rows[len(rows) // 2 :])
            else:  # the parent is gone or stalled: the worker must not wait for it
                self.forward_dropped += len(rows)

    def _forwarded(self) -> list[Event]:
        assert self._forward is not None
        receiver = self._forward[0]
        events: list[Event] = []
        while True:
            try:
                data = receiver.recv(1 << 22)
            except (BlockingIOError, InterruptedError):
                return events
            except OSError:
                return events
            try:
                events.extend(Event(*row) for row in pickle.loads(data))
            except Exception:
                log.exception("unreadable events from a worker process (a bug: please report it)")

    def _write(self, state: _SinkState, batch: list[Event], now: float, force: bool) -> None:
        pending = state.pending
        pending.extend(batch)
        excess = len(pending) - self.size
        if excess > 0:
            for _ in range(excess):
                pending.popleft()
            state.dropped += excess
        if not pending or (state.down_since is not None and now < state.retry_at and not force):
            return
        events = list(pending)
        try:
            state.sink.write(events)
        except Exception as exc:
            if state.down_since is None:
                state.down_since = now
                log.warning(
                    "event sink %s unreachable (%s); events are kept (up to %d) and "
                    "retried with backoff",
                    state.sink.name,
                    _describe(exc),
                    self.size,
                )
            state.retry_at = now + state.delay
            state.delay = min(state.delay * 2, 5.0)
            return
        pending.clear()
        if state.down_since is not None:
            dropped, state.dropped = state.dropped, 0
            log.warning(
                "event sink %s reachable again after %.1fs%s",
                state.sink.name,
                now - state.down_since,
                f"; {dropped} event(s) dropped while it was down" if dropped else "",
            )
            state.down_since = None
            state.delay = 0.5

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for entry in list(self._periodic):
            seconds, due, job = entry
            if now >= due:
                entry[1] = now + seconds
                try:
                    job()
                except Exception as exc:
                    log.debug("periodic event job %r failed: %s", job, exc)


def _fields(event: Event) -> tuple[Any, ...]:
    """The values of ``event`` in field order: ``Event(*values)`` makes it again."""
    return (
        event.status,
        event.ts,
        event.instance,
        event.id,
        event.task,
        event.schedule,
        event.tick,
        event.retries,
        event.retry_delay,
        event.execute_time,
        event.error,
        event.traceback,
        event.duration,
        event.consumer,
        event.host,
        event.pid,
        event.generation,
        dict(event.data) if event.data else None,
    )


def _describe(exc: BaseException) -> str:
    from jobrunner.events._redact import redact

    return redact(f"{type(exc).__name__}: {exc}")


def _close(sink: Sink) -> None:
    try:
        sink.close()
    except Exception as exc:
        log.debug("closing event sink %s: %s", sink.name, exc)


_HUB = Hub()


def hub() -> Hub:
    """This process's hub."""
    return _HUB


os.register_at_fork(after_in_child=lambda: _HUB._after_fork_in_child())
