"""The dashboard inside ``jobrunner run``: its configuration follows reloads, its live
updates follow the process's event hub."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from jobrunner import events
from jobrunner.config._http import is_loopback
from jobrunner.config.model import HttpConfig
from jobrunner.web.dashboard._context import Dashboard, Rejected

if TYPE_CHECKING:
    from jobrunner.runtime import Runner


class RunnerStatus:
    """Generation, load time and last rejected reload of a runner, from its reload events."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.loaded_at = time.time()
        self.rejected: Rejected | None = None
        self.unsubscribe = events.subscribe(self._seen)

    @property
    def generation(self) -> int:
        reloader = self.runner.reloader
        return reloader.generation if reloader is not None else 1

    def _seen(self, batch: Sequence[events.Event]) -> None:
        for event in batch:
            if event.status == events.RELOAD_APPLIED:
                self.loaded_at = event.ts
            elif event.status == events.RELOAD_REJECTED:
                self.rejected = Rejected.of(event)


def read_only_for(http: HttpConfig, host: str) -> bool:
    """Whether the dashboard on ``host`` has its actions off (``http.dashboard``, or a
    non-loopback address without a token: anyone on the network is not an operator)."""
    return http.dashboard == "read-only" or (not is_loopback(host) and not http.token)


def runner_dashboard(runner: Runner, http: HttpConfig, host: str) -> Dashboard | None:
    """The dashboard of ``runner``'s endpoint, or None when ``http.dashboard`` is false."""
    if http.dashboard == "off":
        return None
    read_only = read_only_for(http, host)

    def subscribe(wake: Callable[[], None]) -> Callable[[], None]:
        return events.subscribe(lambda batch: wake())

    return Dashboard(
        app=runner.app_or_fail,
        mode="runner",
        read_only=read_only,
        token=http.token,
        status=RunnerStatus(runner),
        subscribe=subscribe,
    )
