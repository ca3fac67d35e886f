"""The scheduler's decisions for a batch of schedules, with one round trip per step.

For up to :data:`CHUNK` schedules at a time the scheduler plans which ticks to decide (the
current one, and missed ones by the catch-up policy), then this module:

1. claims every planned ``(schedule, tick)`` at once; the claims another runner holds are
   that runner's work, and nothing more is done for them here;
2. reads the pause flags and overlap markers of the won ones at once;
3. decides each won run in order (:func:`decide`: disabled, paused, overlap, or enqueue,
   delayed by its jitter), sets the overlap markers of the runs it enqueues, and enqueues them
   all in one batch (``jobrunner/batch/``);
4. reports each outcome (:meth:`Firing.report`, the one place a run's outcome is told) and
   returns the last decided tick of each schedule.

A batch that fails gives back the claims of the runs it did not enqueue, so a retry (here or
in another runner) can still fire them; runs it enqueued keep their claims.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import huey

from jobrunner import events
from jobrunner.batch import enqueue_many
from jobrunner.config.model import ScheduleConfig
from jobrunner.errors import BulkEnqueueError
from jobrunner.scheduling._claims import claim_many, release_many, runner_id
from jobrunner.scheduling._jitter import jitter_offset
from jobrunner.scheduling._overlap import QUEUED_LEASE
from jobrunner.scheduling._state import Marker, Pause, ScheduleState

log = logging.getLogger("jobrunner.scheduler")

#: Schedules decided per batch: each step of a batch is one round trip.
CHUNK = 1000
#: Runs of one wake-up told a line each at INFO; above this, one summary line (each at DEBUG).
LOG_EACH_UP_TO = 100
#: Seconds a wake-up's report may wait, in all, for room in the event buffer.
REPORT_WAIT = 10.0
# The outcomes whose line is at INFO (the others are at DEBUG whatever their number).
_TOLD = frozenset({"enqueued", "paused", "overlap"})


@dataclass
class Run:
    """One ``(schedule, tick)`` to decide; ``outcome`` is filled in as it is."""

    task_class: Any
    config: ScheduleConfig
    tick: datetime
    caught_up: bool
    outcome: str = "pending"  # enqueued, taken, disabled, paused, overlap, failed
    task: Any = None
    eta: datetime | None = None
    detail: Any = field(default=None, repr=False)
    at: datetime | None = None  # when the outcome was settled

    @property
    def what(self) -> str:
        return f"{'missed tick' if self.caught_up else 'tick'} {label(self.tick)}"


@dataclass
class Plan:
    """What a chunk of schedules decides this wake-up, gathered before any round trip."""

    runs: list[Run] = field(default_factory=list)
    tracking: dict[str, datetime] = field(default_factory=dict)  # first seen: start here
    advance: dict[str, datetime] = field(default_factory=dict)  # caught up to this tick
    synced: dict[str, datetime] = field(default_factory=dict)  # decided here up to this tick


class Firing:
    """Decides batches of runs on one huey instance; ``now`` is the scheduler's clock."""

    def __init__(
        self,
        app_huey: huey.Huey,
        state: ScheduleState,
        now: Callable[[], datetime],
        huey_time: Callable[[datetime], datetime],
    ) -> None:
        self.huey = app_huey
        self.state = state
        self.now = now
        self.huey_time = huey_time
        self._unreported: list[Run] = []

    def fire(self, runs: list[Run]) -> None:
        """Claim, decide and enqueue ``runs``; raises a storage error after giving back the
        claims of the runs that were not enqueued (their outcome stays ``failed``)."""
        if not runs:
            return
        storage = self.huey.storage
        won = claim_many(storage, ((r.config.name, r.tick) for r in runs), runner_id())
        mine = []
        for run in runs:
            if (run.config.name, run.tick) in won:
                mine.append(run)
            else:
                run.outcome = "taken"
                self._settled(run)
        try:
            self._decide_all(mine)
        except Exception:
            unsent = [r for r in mine if r.outcome in ("pending", "failed")]
            for run in unsent:
                run.outcome = "failed"
            release_many(storage, ((r.config.name, r.tick) for r in unsent))
            raise

    def _decide_all(self, runs: list[Run]) -> None:
        names = {r.config.name for r in runs}
        pauses = self.state.paused_many(names)
        skip_names = {r.config.name for r in runs if r.config.overlap == "skip"}
        markers = self.state.active_markers(skip_names) if skip_names else {}
        now = self.now()
        to_send: list[Run] = []
        for run in runs:
            decide(run, pauses, markers, now)
            if run.outcome == "pending":
                self._prepare(run, now, markers)
                to_send.append(run)
            else:
                self._settled(run)
        new_markers = {
            r.config.name: (r.task.id, label(r.tick), "queued", _queued_lease(r, now))
            for r in to_send
            if r.config.overlap == "skip"
        }
        if new_markers:
            self.state.set_markers(new_markers)
        try:
            enqueue_many(self.huey, [r.task for r in to_send])
        except BulkEnqueueError as exc:
            sent = to_send[: exc.enqueued]
            for run in sent:
                run.outcome = "enqueued"
                self._settled(run)
            self._clear_markers(to_send[exc.enqueued :])
            raise
        for run in to_send:
            run.outcome = "enqueued"
            self._settled(run)

    def _prepare(self, run: Run, now: datetime, markers: dict[str, Marker]) -> None:
        task = run.task_class()
        eta = run.tick + timedelta(
            seconds=jitter_offset(run.config.name, run.tick, run.config.jitter)
        )
        if eta > now:
            task.eta = self.huey_time(eta)
        run.task, run.eta = task, eta
        if run.config.overlap == "skip":
            # A later tick of the same schedule in this batch (catch-up: all) finds this run.
            markers[run.config.name] = Marker(task.id, label(run.tick), "queued", float("inf"))

    def _clear_markers(self, runs: list[Run]) -> None:
        for run in runs:
            if run.config.overlap == "skip":
                try:
                    self.state.clear_marker(run.config.name, run.task.id)
                except Exception:
                    log.debug("schedule %s: marker not cleared", run.config.name)

    def _settled(self, run: Run) -> None:
        run.at = self.now()
        self._unreported.append(run)

    def report_all(self) -> None:
        """Report every outcome settled since the last call, in order.

        The scheduler calls this once the whole tick is enqueued: writing thousands of log
        lines between two chunks would delay the later chunks' runs. Up to
        :data:`LOG_EACH_UP_TO` runs get a line each at INFO; more get one summary line at INFO
        and their own lines at DEBUG (10,000 schedules would log 14 million lines a day, and
        formatting them costs the CPU other runners need on the minute). Every run still gets
        its event.
        """
        runs, self._unreported = self._unreported, []
        told = sum(1 for r in runs if r.outcome in _TOLD)
        level = logging.INFO if told <= LOG_EACH_UP_TO else logging.DEBUG
        # The events of 10,000 runs at once overfilled the process's event buffer (10,000),
        # which dropped the oldest: the scheduler can wait for the dispatcher, the workers not.
        hub, deadline = events.hub(), time.monotonic() + REPORT_WAIT
        for index, run in enumerate(runs):
            if index % 500 == 0:
                hub.wait_for_room(deadline)
            self.report(run, level)
        if level != logging.INFO:
            log.info("%s", summary(runs))

    def report(self, run: Run, level: int = logging.INFO) -> None:
        """Tell the outcome of ``run``: the one place per run where it is known (``run.at``
        is when it was settled); its log line at ``level`` (INFO or DEBUG)."""
        name, what = run.config.name, run.what
        if run.outcome in ("disabled", "paused", "overlap"):
            self._emit(run, events.SKIPPED, reason=run.outcome)
        if run.outcome == "enqueued":
            self._emit(run, events.CAUGHT_UP if run.caught_up else events.FIRED, id=run.task.id)
        if not log.isEnabledFor(level if run.outcome in _TOLD else logging.DEBUG):
            return
        if run.outcome == "enqueued":
            at = run.at or self.now()
            delay = ""
            if run.eta is not None and run.eta > at:
                delay = f", runs in {(run.eta - at).total_seconds():.1f}s (jitter)"
            elif not run.caught_up:
                delay = f" ({(at - run.tick).total_seconds():.3f}s after the minute)"
            log.log(level, "schedule %s: %s: enqueued task %s%s", name, what, run.task.id, delay)
        elif run.outcome == "taken":
            log.debug("schedule %s: %s taken by another runner", name, label(run.tick))
        elif run.outcome == "disabled":
            log.debug("schedule %s: %s skipped: disabled in the file", name, what)
        elif run.outcome == "paused":
            pause: Pause = run.detail
            log.log(
                level,
                "schedule %s: %s skipped: paused since %s by %s",
                name,
                what,
                pause.since.strftime("%Y-%m-%d %H:%M:%SZ"),
                pause.by,
            )
        elif run.outcome == "overlap":
            marker: Marker = run.detail
            log.log(
                level,
                "schedule %s: %s skipped (overlap: skip): the run of tick %s (task %s) is still %s",
                name,
                what,
                marker.tick,
                marker.task_id,
                marker.state,
            )

    def _emit(self, run: Run, status: str, **fields: Any) -> None:
        """One schedule event; ``lag``: how long after the tick it was decided (seconds)."""
        settled = run.at or self.now()
        data: dict[str, Any] = {"lag": round((settled - run.tick).total_seconds(), 3)}
        if "reason" in fields:
            data["reason"] = fields.pop("reason")
        config = run.config
        events.emit_for(
            self.huey,
            status,
            schedule=config.name,
            task=config.task or config.name,
            tick=events.tick_label(run.tick),
            data=data,
            **fields,
        )


def decide(run: Run, pauses: dict[str, Pause], markers: dict[str, Marker], now: datetime) -> None:
    """Set ``run.outcome`` to why it is skipped, or leave it ``pending`` (enqueue it)."""
    config = run.config
    if not config.enabled:
        run.outcome = "disabled"
    elif config.name in pauses:
        run.outcome, run.detail = "paused", pauses[config.name]
    elif config.overlap == "skip" and config.name in markers:
        run.outcome, run.detail = "overlap", markers[config.name]


def _queued_lease(run: Run, now: datetime) -> float:
    wait = max(((run.eta or now) - now).total_seconds(), 0.0)
    return wait + QUEUED_LEASE


@lru_cache(maxsize=64)  # thousands of runs share a tick
def label(tick: datetime) -> str:
    return tick.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def summary(runs: list[Run]) -> str:
    """One line for the outcomes of many runs: how many of each, the lag of the current
    tick's enqueued runs, and the first names of those skipped."""
    enqueued = [r for r in runs if r.outcome == "enqueued"]
    current = [r for r in enqueued if not r.caught_up]
    parts = []
    if enqueued:
        text = f"{len(enqueued):,} run(s) enqueued"
        ticks = sorted({label(r.tick) for r in current})
        if current:
            lags = [((r.at or r.tick) - r.tick).total_seconds() for r in current]
            text += f" (tick {', '.join(ticks)}: {min(lags):.3f}s to {max(lags):.3f}s"
            text += " after the minute)"
        missed = len(enqueued) - len(current)
        if missed:
            text += f", {missed:,} of them missed tick(s) caught up"
        parts.append(text)
    for outcome in ("paused", "overlap", "disabled"):
        skipped = [r.config.name for r in runs if r.outcome == outcome]
        if skipped:
            parts.append(f"{len(skipped):,} skipped ({outcome}: {names(skipped)})")
    taken = sum(1 for r in runs if r.outcome == "taken")
    if taken:
        parts.append(f"{taken:,} taken by another runner")
    return f"schedules: {'; '.join(parts) or 'nothing decided'}; a line per run at DEBUG"


def names(found: Iterable[str]) -> str:
    """Schedule names for a log line: the first three and how many more."""
    listed = list(found)
    return (
        ", ".join(listed)
        if len(listed) <= 3
        else f"{', '.join(listed[:3])} and {len(listed) - 3} more"
    )
