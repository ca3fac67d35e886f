"""huey's Worker with at-least-once delivery: take as in flight, run, then acknowledge.

Only :meth:`DeliveryWorker.loop` changes. huey's ``Worker.loop`` calls
``huey.dequeue()``, which removes the message and deserializes it in one go (a
crash, a bad signature or an unknown task loses it). Here the raw message is
taken through the store (recorded in flight in the same atomic step), read in a
guard (a message that cannot run goes to the dead letters), run with
``huey.execute`` exactly as huey does, and only then acknowledged. The
acknowledgement rides along with the next take (one round trip on Redis), and so
does huey's clear of the task's revoke flag (``jobrunner/_revoke_flags.py``).
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from typing import Any

import huey
from huey.consumer import WorkerRecycle

from jobrunner import _revoke_flags, events
from jobrunner._outage import is_storage_error
from jobrunner._polling import PollingWorker
from jobrunner.delivery._deadletters import open_message, short_task_name
from jobrunner.delivery._delivery import Delivery
from jobrunner.delivery._store import Taken, Token

log = logging.getLogger("jobrunner.delivery")


class DeliveryWorker(PollingWorker):
    """A huey worker that never loses the message it took."""

    def __init__(
        self,
        huey: huey.Huey,
        stop_flag: Any,
        default_delay: float,
        max_delay: float,
        backoff: float,
        max_tasks: int | None = None,
        *,
        delivery: Delivery,
    ) -> None:
        self.delivery = delivery
        self._acks: list[Token] = []
        self._clears: list[str] = []
        self._releases: list[Token] = []
        self._forked = False
        # Names of this worker's takes (release_lost); the take whose answer was lost.
        self._taker_prefix = f"{os.getpid()}:{id(self):x}:"  # again in initialize(): forks
        self._takes = 0
        self._lost_take: str | None = None
        super().__init__(huey, stop_flag, default_delay, max_delay, backoff, max_tasks)

    def initialize(self) -> None:
        # Runs where the worker runs: in a forked child for process workers.
        self._forked = os.getpid() != self.delivery.pid
        self._taker_prefix = f"{os.getpid()}:{id(self):x}:"
        super().initialize()

    def loop(self, now: datetime.datetime | None = None) -> None:
        delivery = self.delivery
        if self._forked and os.getppid() != delivery.pid:
            # A process worker whose consumer died: its lease is not renewed any
            # more, so what it takes would be put back and run twice.
            raise WorkerRecycle()
        store = delivery.store
        taker: str | None = None
        if store.records_takers:
            self._takes += 1
            taker = f"{self._taker_prefix}{self._takes}"
        taking = False
        try:
            delivery.ensure_registered()
            self._settle()
            if self._lost_take is not None:
                self._release_lost(self._lost_take)
            taking = True
            taken = store.take(delivery.consumer_id, self._acks, self._clears, taker)
        except Exception as exc:
            if taking and taker is not None:
                # The server may have committed the take before the connection dropped.
                self._lost_take = taker
            self.stop_flag.wait(delivery.storage_error(exc))
            return
        self._acks = []
        self._clears = []
        delivery.storage_ok()
        if taken is None:
            if not delivery.store.blocking:
                self.sleep()
            return
        self.delay = self.default_delay
        self.task_count += 1
        self._run(taken, now)
        if self.max_tasks and self.task_count >= self.max_tasks:
            self._flush()
            self._logger.info("Worker reached max tasks (%d), exiting.", self.max_tasks)
            raise WorkerRecycle()

    def _run(self, taken: Taken, now: datetime.datetime | None) -> None:
        delivery = self.delivery
        opened = open_message(self.huey, taken.data)
        if opened.task is None:
            self._bury(taken, opened.name, opened.reason or "unreadable")
            return
        task = opened.task
        delivery.begin(task)
        error: Exception | None = None
        try:
            with _revoke_flags.deferring(self.huey, task, self._clears):
                self.huey.execute(task, now)
        except Exception as exc:
            error = exc
            if is_storage_error(exc):
                delivery.storage_error(exc)
            else:
                self._logger.exception("Unhandled error during execution of task %s.", task.id)
        finally:
            started, interrupted = delivery.end()
        if error is not None and not started and not is_storage_error(error):
            # huey failed before the task started (not the storage: that passes):
            # taking it again would fail again, forever.
            name = self.huey._registry.task_to_string(type(task))
            self._bury(taken, name, f"could not be started: {type(error).__name__}: {error}")
        elif interrupted or (error is not None and not started):
            # Cut off (process and greenlet workers are interrupted by the second
            # signal or the shutdown timeout), or never run because the storage
            # failed first: back on the queue, not lost.
            self._releases.append(taken.token)
            self._settle_quietly()
        else:
            self._acks.append(taken.token)

    def _release_lost(self, taker: str) -> None:
        delivery = self.delivery
        if delivery.store.release_lost(delivery.consumer_id, taker):
            log.warning(
                "instance %s: put back a message whose take was cut off by the storage "
                "outage (it had not started)",
                delivery.name,
            )
        self._lost_take = None

    def _bury(self, taken: Taken, name: str | None, reason: str) -> None:
        delivery = self.delivery
        try:
            id = delivery.store.bury(delivery.consumer_id, taken, name, reason, time.time())
        except Exception as exc:
            delivery.storage_error(exc)
            self._releases.append(taken.token)
            return
        if id:
            events.emit_for(
                self.huey,
                events.DEAD_LETTERED,
                task=short_task_name(name) if name else None,
                data={"reason": delivery.redact(reason), "dead_letter": id},
            )
            log.error(
                "instance %s: %s moved to the dead letters (id %d): %s; "
                "see `jobrunner dead-letters`",
                delivery.name,
                f"a message for task {short_task_name(name)}" if name else "a message",
                id,
                delivery.redact(reason),
            )

    def _settle(self) -> None:
        while self._releases:
            self.delivery.store.release(self.delivery.consumer_id, self._releases[0])
            self._releases.pop(0)

    def _settle_quietly(self) -> None:
        try:
            self._settle()
        except Exception as exc:
            self.delivery.storage_error(exc)

    def _flush(self) -> None:
        try:
            self._settle()
            self.delivery.store.ack(self.delivery.consumer_id, self._acks, self._clears)
            self._acks = []
            self._clears = []
        except Exception as exc:
            # Still recorded in flight: put back when this consumer's lease ends.
            self.delivery.storage_error(exc)

    def shutdown(self) -> None:
        self._flush()
        super().shutdown()
