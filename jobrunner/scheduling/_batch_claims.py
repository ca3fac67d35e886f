"""One claim per batch of runs, so runners that lose a batch do not claim its runs one by one.

Runners on one storage decide the same schedules in the same chunks each minute (the order of
the file). Without a batch claim every runner sends a claim for every run: with 10,000
schedules and 3 runners, 20,000 of the 30,000 claims lose, and they cost the runners and the
storage server the time the winners need to enqueue. So each chunk of plain current-tick runs
is first claimed as a whole, under a name derived from its runs' schedule names and the tick
(``~batch-<hash>``: not a valid schedule name, so it cannot collide with one):

- The runner that wins the batch claim goes on as before: it claims each run
  (:func:`~jobrunner.scheduling._claims.claim_many`), which stays the exactly-once guard, so
  runners whose files differ (a rolling update: their batches differ too) still fire each tick
  once.
- A runner that loses it skips the batch, and after :data:`VERIFY_AFTER` seconds checks that
  every run of the batch was claimed. A run still unclaimed by then (its winner stopped between
  the two claims) is fired by the checking runner, late but not lost.

Runs of a catch-up, of a schedule seen for the first time or after a gap are claimed one by one
as before: which ticks they cover depends on what each runner has seen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobrunner.batch import peek_many
from jobrunner.scheduling._claims import claim, claim_key, runner_id
from jobrunner.scheduling._firing import Run

#: Seconds after the minute a losing runner checks that the batch's winner claimed its runs.
VERIFY_AFTER = 10.0


@dataclass
class Unverified:
    """A batch another runner claimed: check its runs once ``at`` has passed."""

    batch: str
    tick: datetime
    runs: list[Run]
    at: datetime


def batch_name(runs: list[Run]) -> str:
    """The claim name of ``runs`` (current-tick runs of one chunk): a hash of their names."""
    digest = hashlib.blake2b(digest_size=8)
    for run in runs:
        digest.update(run.config.name.encode())
        digest.update(b"\0")
    return f"~batch-{digest.hexdigest()}"


class BatchClaims:
    """Batch claims of one scheduler on ``storage``."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self._won: dict[str, datetime] = {}  # batch name -> tick: a retry must not lose to itself
        self._unverified: list[Unverified] = []

    def claim(self, runs: list[Run], tick: datetime) -> str | None:
        """Claim the batch of ``runs`` at ``tick``; None when this runner has it, else its name
        (the runs are then checked later, see :meth:`due`)."""
        name = batch_name(runs)
        for won, won_tick in list(self._won.items()):
            if won_tick < tick:
                del self._won[won]
        if self._won.get(name) == tick or claim(self.storage, name, tick, runner_id()):
            self._won[name] = tick
            return None
        at = tick + timedelta(seconds=VERIFY_AFTER)
        self._unverified.append(Unverified(name, tick, runs, at))
        return name

    def due(self, moment: datetime) -> list[Unverified]:
        """The batches to check now; they are forgotten unless :meth:`retry` gives them back."""
        ready = [u for u in self._unverified if u.at <= moment]
        if ready:
            self._unverified = [u for u in self._unverified if u.at > moment]
        return ready

    def retry(self, batches: list[Unverified]) -> None:
        """Check ``batches`` again at the next wake-up (the check failed)."""
        self._unverified.extend(batches)

    def unclaimed(self, batch: Unverified) -> list[Run]:
        """The runs of ``batch`` that nobody claimed, as fresh runs to decide."""
        keys = [claim_key(r.config.name, r.tick) for r in batch.runs]
        claimed = peek_many(self.storage, keys)
        return [
            Run(r.task_class, r.config, r.tick, caught_up=False)
            for r, key in zip(batch.runs, keys, strict=True)
            if key not in claimed
        ]
