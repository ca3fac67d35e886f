"""The hourly sweep of old schedule claims: one runner a hour deletes what no catch-up can
still look at."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from jobrunner._outage import is_storage_error
from jobrunner.config.model import ScheduleConfig
from jobrunner.scheduling._catchup import catchup_window
from jobrunner.scheduling._claims import claim, runner_id, sweep_claims

log = logging.getLogger("jobrunner.scheduler")

# Claims are kept at least this long (longer for schedules with a longer catch-up window).
CLAIM_RETENTION = 86400.0
# Claim name of the hourly claim sweep; not a valid schedule name, so it cannot collide.
SWEEP_CLAIM = "~sweep"


class ClaimSweep:
    """Sweeps the claims of ``storage`` once per hour, across runners (the hour is claimed).

    ``schedules`` gives the current schedules' configs: their catch-up windows set how long
    claims are kept.
    """

    def __init__(self, storage: Any, schedules: Callable[[], Iterable[ScheduleConfig]]) -> None:
        self.storage = storage
        self.schedules = schedules
        self._swept_hour: datetime | None = None

    def maybe_sweep(self, tick: datetime) -> None:
        hour = tick.replace(minute=0)
        if self._swept_hour == hour:
            return
        self._swept_hour = hour
        try:
            if not claim(self.storage, SWEEP_CLAIM, hour, runner_id()):
                return
            deleted = sweep_claims(self.storage, tick - timedelta(seconds=self.retention()))
            if deleted:
                log.debug("deleted %d old schedule claim(s)", deleted)
        except Exception as exc:
            if is_storage_error(exc):
                self._swept_hour = None
                raise
            log.exception("could not delete old schedule claims")

    def retention(self) -> float:
        windows = [catchup_window(c) for c in self.schedules() if c.catchup != "none"]
        # A claim must outlive every tick catch-up could still look at.
        return max([CLAIM_RETENTION, *(w + 3600.0 for w in windows)])
