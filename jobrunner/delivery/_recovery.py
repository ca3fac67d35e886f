"""The heartbeat of a consumer: renew its lease, put back the work of dead consumers.

Every consumer runs one, so a consumer killed without a chance to clean up
(SIGKILL, OOM, power loss) has its tasks put back by any consumer still alive
once its lease expires, or by the next one to start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobrunner.delivery._delivery import Delivery


class Heartbeat:
    """A daemon thread renewing the lease every third of it and recovering expired work."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.interval = delivery.lease / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"jobrunner-lease-{delivery.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(10)

    def _run(self) -> None:
        delivery = self.delivery
        delay = self.interval
        outage = delivery.outage
        if outage.down:
            # Unreachable at start: with process workers, these tries are the ones the log
            # tells (the workers' own are quiet), so they keep the outage's pace.
            delay = max(outage.next_try - outage.clock(), 0.05)
        while not self._stop.wait(delay):
            try:
                if delivery.registered:
                    delivery.renew()
                else:
                    delivery.ensure_registered()
                if self._stop.is_set():
                    return
                delivery.recover()
            except Exception as exc:
                delay = delivery.storage_error(exc)
                continue
            delivery.storage_ok()
            delay = self.interval
