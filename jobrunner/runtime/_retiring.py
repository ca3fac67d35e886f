"""Consumers a reload lets go: stopping after their running tasks, or draining an old storage."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import huey
from huey.consumer import Consumer

from jobrunner.config import InstanceConfig
from jobrunner.factory import safe_target


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
