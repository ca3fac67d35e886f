"""Consumers a reload lets go: stopping after their running tasks, or draining an old storage."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import huey
from huey.consumer import Consumer

from jobrunner._outage import is_storage_error, outage_of
from jobrunner.config import InstanceConfig
from jobrunner.factory import safe_target

log = logging.getLogger("jobrunner")

DRAIN_IDLE = 10.0
"""Seconds an old storage must stay empty before its drain consumer stops."""


@dataclass
class Retiring:
    """A consumer being let go: stopping after its running tasks, or draining an old storage."""

    instance: str
    consumer: Consumer
    config: InstanceConfig  # the instance's definition when the consumer was let go
    drain: bool = False
    stopper: threading.Thread | None = None
    idle_since: float | None = None

    def begin_stop(self) -> None:
        """Stop in the background: the consumer's running tasks finish first."""
        if self.stopper is None:
            self.stopper = threading.Thread(
                target=self.consumer.stop,
                kwargs={"graceful": True},
                name=f"retire-{self.instance}",
                daemon=True,
            )
            self.stopper.start()

    @property
    def target(self) -> str:
        """Where its storage is, for log lines."""
        return f"{self.config.backend} {safe_target(self.config)}"

    @property
    def stopped(self) -> bool:
        return self.stopper is not None and not self.stopper.is_alive()


def waiting_in(app_huey: huey.Huey) -> tuple[int, int]:
    """(queued, scheduled) message counts of a huey's storage."""
    return app_huey.pending_count(), app_huey.scheduled_count()


def supervise(consumers: list[Retiring]) -> None:
    """Stop drain consumers whose old storage stayed empty; forget stopped consumers."""
    now = time.monotonic()
    for retiring in list(consumers):
        if retiring.stopped:
            consumers.remove(retiring)
            if retiring.drain:
                log.info(
                    "instance %s: old storage %s drained; no longer consumed",
                    retiring.instance,
                    retiring.target,
                )
            else:
                log.debug("instance %s: previous consumer stopped", retiring.instance)
            continue
        if not retiring.drain or retiring.stopper is not None:
            continue
        outage = outage_of(retiring.consumer.huey)
        if outage.down and now < outage.next_try:
            continue  # its workers back off too: one report per step
        try:
            queued, scheduled = waiting_in(retiring.consumer.huey)
        except Exception as exc:
            if is_storage_error(exc):
                outage.failed(exc)
            else:
                log.warning(
                    "instance %s: cannot read the old storage %s: %s",
                    retiring.instance,
                    retiring.target,
                    outage.describe(exc),
                )
            continue
        outage.ok()
        if queued or scheduled:
            retiring.idle_since = None
        elif retiring.idle_since is None:
            retiring.idle_since = now
        elif now - retiring.idle_since >= DRAIN_IDLE:
            retiring.begin_stop()


def leftover_warnings(consumers: list[Retiring]) -> None:
    """At the final stop: say what stays in old storages nobody will consume any more."""
    for retiring in consumers:
        if not retiring.drain:
            continue
        try:
            queued, scheduled = waiting_in(retiring.consumer.huey)
        except Exception:
            continue
        if queued or scheduled:
            log.warning(
                "instance %s: %d queued and %d scheduled task(s) are left in its old storage "
                "%s, which the current jobs.yaml no longer names; run a consumer on it "
                "to run them",
                retiring.instance,
                queued,
                scheduled,
                retiring.target,
            )
