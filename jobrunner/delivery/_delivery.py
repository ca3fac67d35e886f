"""One consumer's side of at-least-once delivery: its identity, lease, and what it tells the log.

A :class:`Delivery` belongs to one consumer of one instance. Its workers
(:class:`~jobrunner.delivery.DeliveryWorker`) take messages through its store;
its heartbeat renews the consumer's lease and puts back the tasks of consumers
whose lease expired; when the consumer stops, it puts back what is still in
flight (tasks cut off by the shutdown timeout).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import huey
from huey import signals as S
from huey.api import Task

from jobrunner import events
from jobrunner._forksafe import after_fork
from jobrunner._outage import outage_of
from jobrunner.config.model import InstanceConfig
from jobrunner.delivery._recovery import Heartbeat
from jobrunner.delivery._store import Store

log = logging.getLogger("jobrunner.delivery")

#: Shortest lease honoured: the heartbeat renews it three times per period.
MIN_LEASE = 1.0


def new_consumer_id() -> str:
    """``host:pid:random``: unique per consumer start, readable in logs and in storage."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def secrets_of(instance: InstanceConfig) -> list[str]:
    """The signing secret and storage passwords of ``instance``: never to be logged."""
    found: list[str] = []
    if instance.serializer.secret:
        found.append(instance.serializer.secret)
    storage = instance.storage
    if storage.get("password"):
        found.append(str(storage["password"]))
    for key in ("url", "dsn"):
        value = str(storage.get(key) or "")
        if "://" in value:
            password = urlsplit(value).password
            if password:
                found.extend({password, unquote(password)})
        # libpq's `password = 'a b'` and a `?password=` in a URL's query string.
        for match in _PASSWORD_SETTING.finditer(value):
            raw = match.group(1)
            if raw.startswith("'"):
                raw = raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
            found.extend({raw, unquote(raw)})
    # Longest first: a secret that contains another is masked whole.
    return sorted({s for s in found if s}, key=len, reverse=True)


_PASSWORD_SETTING = re.compile(r"\w*password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&#]+)")


class Delivery:
    """At-least-once delivery for the consumer of one instance."""

    def __init__(self, app_huey: huey.Huey, instance: InstanceConfig, store: Store) -> None:
        self.huey = app_huey
        self.instance = instance
        self.name = instance.name
        self.store = store
        self.lease = max(float(instance.lease), MIN_LEASE)
        self.consumer_id = new_consumer_id()
        self.registered = False
        self.pid = os.getpid()
        self.outage = outage_of(app_huey, f"instance {self.name}", secrets_of(instance))
        self._local = threading.local()
        self._heartbeat: Heartbeat | None = None
        self._stopped = False
        self._stop_lock = threading.Lock()
        after_fork(self, _reset_after_fork)

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Register this consumer's lease, put back expired work, start the heartbeat.

        Called before the workers start. A storage that cannot be reached is
        logged and retried by the heartbeat and the workers; it does not stop the
        runner (huey does not either).
        """
        self.huey.signal(S.SIGNAL_EXECUTING, S.SIGNAL_INTERRUPTED)(self._on_signal)
        # The heartbeat runs in this process: forked process workers leave the reports to it.
        self.outage.reported_by_parent = True
        log.info(
            "instance %s: at-least-once delivery, consumer %s, lease %gs",
            self.name,
            self.consumer_id,
            self.lease,
        )
        try:
            self.ensure_registered()
            self.recover()
        except Exception as exc:
            self.storage_error(exc)
        self._heartbeat = Heartbeat(self)
        self._heartbeat.start()

    def ensure_registered(self) -> bool:
        """Make sure the lease exists before any message is taken; raises storage errors."""
        if not self.registered:
            self.store.setup()
            self.renew()
        return True

    def renew(self) -> None:
        """Extend this consumer's lease; warn when it had already expired."""
        state = self.store.renew(self.consumer_id, self.lease)
        if state == 2:
            log.warning(
                "instance %s: the lease of consumer %s had expired (stalled, or storage "
                "unreachable); other consumers may have put its tasks back, which may run twice",
                self.name,
                self.consumer_id,
            )
        self.registered = True

    def recover(self) -> int:
        """Put back the tasks of consumers whose lease expired; how many."""
        total = 0
        for found in self.store.recover():
            total += found.count
            events.emit_for(
                self.huey,
                events.RECOVERED,
                data={"dead_consumer": found.consumer, "count": found.count},
            )
            log.warning(
                "instance %s: put back %d task(s) of consumer %s, whose lease expired "
                "(they may run a second time)",
                self.name,
                found.count,
                found.consumer,
            )
        return total

    def stop(self) -> None:
        """After the workers stopped (or were cut off): put back what is still in flight."""
        with self._stop_lock:  # the runner's second signal and the consumer's stop may race
            if self._stopped:
                return
            self._stopped = True
        if self._heartbeat is not None:
            self._heartbeat.stop()
        try:
            count = self.store.retire(self.consumer_id)
        except Exception as exc:
            log.warning(
                "instance %s: could not put back the tasks still in flight (%s); "
                "they go back when the lease of consumer %s expires (%gs)",
                self.name,
                self.describe(exc),
                self.consumer_id,
                self.lease,
            )
        else:
            if count:
                log.warning(
                    "instance %s: put back %d task(s) cut off by the shutdown; "
                    "they run again on the next start",
                    self.name,
                    count,
                )
        self.huey.disconnect_signal(self._on_signal, S.SIGNAL_EXECUTING, S.SIGNAL_INTERRUPTED)

    # -- what happened to the task a worker runs -----------------------------------------------

    def begin(self, task: Task) -> None:
        """The calling worker is about to run ``task``."""
        local = self._local
        local.task = task
        local.started = False
        local.interrupted = False

    def end(self) -> tuple[bool, bool]:
        """Whether the task of :meth:`begin` started, and whether it was interrupted."""
        local = self._local
        local.task = None
        return bool(local.started), bool(local.interrupted)

    def _on_signal(self, signal: str, task: Task, *args: Any, **kwargs: Any) -> None:
        local = self._local
        # Only the worker running the task counts: huey also reports tasks of
        # other threads as interrupted when the consumer stops.
        if getattr(local, "task", None) is task:
            if signal == S.SIGNAL_EXECUTING:
                local.started = True
            else:
                local.interrupted = True

    # -- storage outages --------------------------------------------------------------------

    def storage_error(self, exc: BaseException) -> float:
        """Report a failed call to the storage (once per backoff step); the seconds to wait."""
        return self.outage.failed(exc)

    def storage_ok(self) -> None:
        """The storage answered: report the end of an outage, if there was one."""
        self.outage.ok()

    def describe(self, exc: BaseException) -> str:
        """``Type: message`` of ``exc`` on one line, with every secret of the instance masked."""
        return self.outage.describe(exc)

    def redact(self, text: str) -> str:
        return self.outage.redact(text)


def _reset_after_fork(delivery: Delivery) -> None:
    # A process worker must not inherit the heartbeat thread's lock or connections.
    delivery._stop_lock = threading.Lock()
    delivery._local = threading.local()
