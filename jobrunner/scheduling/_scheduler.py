"""The scheduler thread of a jobrunner consumer: huey's, with schedules fired on the minute.

huey's :class:`~huey.consumer.Scheduler` enqueues delayed tasks every ``scheduler_interval``
seconds and checks periodic tasks every 60 s counted from consumer start. This subclass keeps the
first job (``read_schedule``) and replaces the second:

- It wakes a few milliseconds after each UTC minute starts, by the wall clock, recomputed on
  every wake-up, so it neither starts at a random second nor drifts.
- For each schedule in the live huey registry (``task_class.schedule_config``) it applies
  :func:`~jobrunner.scheduling.is_due` in the schedule's own time zone, claims
  ``(schedule, tick)`` in the instance's storage and, if this runner won the claim, decides:
  disabled or paused -> skip; ``overlap: skip`` with the previous run outstanding -> skip (and
  log); otherwise enqueue, delayed by the schedule's deterministic jitter.
- When it first sees a schedule (start, reload) or finds a gap (a stall, a storage outage) it
  compares the schedule's last decided tick in storage with now and applies ``catchup``.

A storage that cannot be reached stops the loop's iteration and is reported through the
instance's :class:`~jobrunner._outage.Outage` (one line per backoff step); the next iteration
after the outage catches up as after any gap.

Which missed ticks run is ``_catchup.py``; the hourly claim sweep is ``_sweep.py``.

The clock is injectable (``now``): tests drive the loop tick by tick with a fake clock whose
``stop_flag.wait`` advances time instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import RawValue
from typing import Any

import huey
from huey.consumer import Scheduler

from jobrunner._outage import is_storage_error, outage_of
from jobrunner.config.model import ScheduleConfig
from jobrunner.scheduling._batch_claims import BatchClaims
from jobrunner.scheduling._catchup import MINUTE as _MINUTE
from jobrunner.scheduling._catchup import floor_minute, plan_catch_up
from jobrunner.scheduling._claims import claim, release, runner_id
from jobrunner.scheduling._firing import CHUNK, Firing, Plan, Run, names
from jobrunner.scheduling._firing import label as _label
from jobrunner.scheduling._overlap import install_overlap_hooks
from jobrunner.scheduling._state import ScheduleState
from jobrunner.scheduling._sweep import ClaimSweep
from jobrunner.scheduling._ticks import is_due
from jobrunner.timezones import zone

log = logging.getLogger("jobrunner.scheduler")

Clock = Callable[[], datetime]

# Wake this long after the minute starts: the OS may wake a sleeper a little early, and a tick
# computed a hair before the minute would be the previous one.
WAKE_MARGIN = 0.005
# A runner that starts this soon after a minute began still fires that minute on time; later, the
# minute counts as missed and the catch-up policy decides.
START_GRACE = 10.0


def utc_now() -> datetime:
    """The wall clock as an aware UTC datetime (the scheduler's default clock)."""
    return datetime.now(UTC)


class JobRunnerScheduler(Scheduler):  # type: ignore[misc]  # huey is untyped
    """huey's scheduler with minute-aligned, exactly-once, zone-aware schedules.

    ``lease`` is the overlap-marker lease of running runs (the instance's ``lease``); ``now``
    is the clock (aware UTC datetimes).
    """

    def __init__(
        self,
        huey: huey.Huey,
        stop_flag: Any,
        interval: int,
        periodic: bool,
        *,
        lease: float = 30.0,
        now: Clock | None = None,
    ) -> None:
        super().__init__(huey, stop_flag, interval, periodic)
        # time.monotonic() of the last loop, read by /readyz in the runner process: shared
        # memory because with process workers this scheduler runs in a child process.
        self.heartbeat: Any = RawValue("d", time.monotonic())
        self.now: Clock = now or utc_now
        self.lease = lease
        self.state = ScheduleState(huey.storage, clock=lambda: self.now().timestamp())
        self._synced: dict[str, datetime] = {}
        # is_due of each (cron, zone) at the tick being decided: schedules share crons, and
        # every runner plans every schedule each minute (10,000: 0.1 s of CPU uncached).
        self._due: tuple[datetime | None, dict[tuple[Any, str], bool]] = (None, {})
        self._next_read: datetime | None = None
        self.sweep = ClaimSweep(huey.storage, self._schedule_configs)
        self._passes = 0
        self.firing = Firing(huey, self.state, self.now, self._huey_time)
        self.batches = BatchClaims(huey.storage)
        # Workers run the signal handlers that keep overlap markers; connect them before the
        # consumer starts (and forks) its workers, even when this runner fires no schedules.
        install_overlap_hooks(huey, lease, clock=lambda: self.now().timestamp())
        self.outage = outage_of(huey)
        self._unsent: list[Any] = []
        self._failed = False

    def initialize(self) -> None:
        super().initialize()
        own = getattr(self.huey.storage, "use_own_connection", None)
        if own is not None:
            own()  # the minute's statements must not queue behind the workers'
        if self.outage.quiet and not self.outage.reported_by_parent:
            # A forked scheduler without a heartbeat in its parent reports for the instance.
            self.outage.quiet = False

    # The loop -------------------------------------------------------------------------------

    def loop(self, now: datetime | None = None) -> None:
        """One iteration: fire the current minute's schedules, read the eta schedule, sleep."""
        self.heartbeat.value = time.monotonic()
        try:
            self._iterate()
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            self._failed = True
            self.stop_flag.wait(self.outage.failed(exc))

    def _iterate(self) -> None:
        moment = self.now()
        tick = floor_minute(moment)
        if self.periodic:
            self.fire(tick, moment)
            self.check_batches(moment)
        interval = timedelta(seconds=self.interval)
        if (
            self._next_read is None
            or moment >= self._next_read
            or self._next_read - moment > interval  # the wall clock went back
        ):
            self.enqueue_scheduled(moment)
            self._next_read = _next_multiple(moment, self.interval)
            if self._failed:
                # Only an outage it saw itself: its reads may work while the workers' writes
                # fail (a full disk), and the outage must not seem to end every second.
                self._failed = False
                self.outage.ok()
        wake = self._next_read
        if self.periodic:
            wake = min(wake, tick + _MINUTE + timedelta(seconds=WAKE_MARGIN))
        self._sleep_until(wake, cap=self.interval)

    def _sleep_until(self, wake: datetime, cap: float) -> None:
        seconds = min((wake - self.now()).total_seconds(), cap)
        if seconds > 0:
            self.stop_flag.wait(seconds)

    def enqueue_scheduled(self, moment: datetime) -> None:
        """huey's own job: enqueue delayed tasks (eta, retries, jitter) that are now due."""
        # Tasks read from the schedule but not yet back in the queue: huey's read
        # removes them, so an outage in between would lose them.
        self._unsent.extend(self._read_schedule(moment))
        while self._unsent:
            task = self._unsent[0]
            self._logger.debug("Enqueueing %s", task)
            try:
                self.huey.enqueue(task)
            except Exception as exc:
                if is_storage_error(exc):
                    raise  # sent after the outage
                self._logger.exception("Error enqueueing %s.", task)
            self._unsent.pop(0)

    def _read_schedule(self, moment: datetime) -> list[Any]:
        try:
            return list(self.huey.read_schedule(self._huey_time(moment)))
        except Exception as exc:
            if is_storage_error(exc):
                raise  # reported by loop(), once per backoff step
            self._logger.exception("Error reading schedule.")
            return []

    def enqueue_periodic_tasks(self, now: Any) -> None:
        """huey's 60-second periodic check; replaced by :meth:`fire`, so it does nothing."""

    # Firing ---------------------------------------------------------------------------------

    def fire(self, tick: datetime, moment: datetime) -> None:
        """Decide tick ``tick`` (the current minute) for every periodic task in the registry."""
        schedules = []
        for task_class in self._periodic_classes():
            config: ScheduleConfig | None = getattr(task_class, "schedule_config", None)
            if config is None:
                try:
                    self._fire_plain(task_class, tick, moment)
                except Exception as exc:
                    if is_storage_error(exc):
                        raise
                    log.exception(
                        "periodic task %s: tick %s failed; retrying", task_class, _label(tick)
                    )
                continue
            synced = self._synced.get(config.name)
            if synced is None or synced < tick:
                schedules.append((task_class, config))
        if not schedules:
            self.sweep.maybe_sweep(tick)
            return
        began = time.monotonic()
        # The ticks decided are recorded once every chunk is enqueued: the record only serves
        # catch-up after a gap (the claims alone keep a tick from firing twice), and writing
        # it between two chunks would delay the later chunks' runs.
        done: dict[str, datetime] = {}
        try:
            for start in range(0, len(schedules), CHUNK):
                chunk = schedules[start : start + CHUNK]
                try:
                    self._fire_chunk(chunk, tick, moment, done)
                except Exception as exc:
                    if is_storage_error(exc):
                        raise  # reported by loop(); the tick is decided after the outage
                    # Not marked done: the next wake-up (a second later) tries again.
                    log.exception(
                        "schedules %s: tick %s failed; retrying",
                        names(config.name for _, config in chunk),
                        _label(tick),
                    )
        finally:
            self._record(done, tick)
        decided, settled = time.monotonic() - began, self.now()
        self.firing.report_all()
        first = not self._passes
        self._passes += 1
        # At INFO once: "ready" for the first tick; then at DEBUG, one line per tick.
        log.log(
            logging.INFO if first else logging.DEBUG,
            "tick %s: %d schedule(s) decided in %.3fs, %.3fs after the minute",
            _label(tick),
            len(schedules),
            decided,
            (settled - tick).total_seconds(),
        )
        self.sweep.maybe_sweep(tick)

    def _periodic_classes(self) -> list[Any]:
        registry = self.huey._registry
        return list(getattr(registry, "_periodic_tasks", ()))

    def _schedule_configs(self) -> Iterator[ScheduleConfig]:
        for task_class in self._periodic_classes():
            config = getattr(task_class, "schedule_config", None)
            if config is not None:
                yield config

    def _fire_chunk(
        self,
        chunk: list[tuple[Any, ScheduleConfig]],
        tick: datetime,
        moment: datetime,
        done: dict[str, datetime],
    ) -> None:
        """Plan, claim and decide ``chunk``'s schedules (a few round trips in all); add the
        last tick decided of each to ``done``."""
        # First sight (start, reload) or a gap: ticks before this one may have been missed.
        gaps = [c.name for _, c in chunk if self._gap(c.name, tick)]
        recorded = self.state.last_ticks(gaps) if gaps else {}
        plan = Plan()
        for task_class, config in chunk:
            self._plan(plan, task_class, config, tick, moment, recorded)
        if plan.tracking:
            self.state.start_tracking_many(plan.tracking)
        lost = None
        if plan.runs and not gaps and all(r.tick == tick for r in plan.runs):
            lost = self.batches.claim(plan.runs, tick)
        if lost is not None:
            log.debug(
                "schedules %s: tick %s taken by another runner (%s)",
                names(r.config.name for r in plan.runs),
                _label(tick),
                lost,
            )
        else:
            try:
                self.firing.fire(plan.runs)
            finally:
                _add_decided(done, plan.runs, plan.advance)
        for name, synced in plan.synced.items():
            self._synced[name] = synced

    def check_batches(self, moment: datetime) -> None:
        """Fire the runs that the winner of a batch claim left unclaimed (it stopped)."""
        batches = self.batches.due(moment)
        if not batches:
            return
        live = {config.name for config in self._schedule_configs()}
        for index, batch in enumerate(batches):
            try:
                runs = [r for r in self.batches.unclaimed(batch) if r.config.name in live]
                if not runs:
                    continue
                log.warning(
                    "schedules %s: tick %s: claimed as a batch by another runner, which did "
                    "not claim these %d run(s); firing them here",
                    names(r.config.name for r in runs),
                    _label(batch.tick),
                    len(runs),
                )
                done: dict[str, datetime] = {}
                try:
                    self.firing.fire(runs)
                finally:
                    _add_decided(done, runs, {})
                    self._record(done, batch.tick)
                    self.firing.report_all()
            except Exception as exc:
                if is_storage_error(exc):
                    self.batches.retry(batches[index:])  # checked after the outage
                    raise
                log.exception("schedules: could not check the runs of %s", batch.batch)

    def _record(self, done: dict[str, datetime], tick: datetime) -> None:
        """Record the last tick decided of each schedule in ``done``."""
        if not done:
            return
        try:
            self.state.advance_many(done)
        except Exception as exc:
            if is_storage_error(exc):
                self.outage.failed(exc)  # enqueued and claimed: only the record is late
            else:
                log.exception("schedules: could not record the ticks decided at %s", _label(tick))

    def _gap(self, name: str, tick: datetime) -> bool:
        done = self._synced.get(name)
        return done is None or done < tick - _MINUTE

    def _plan(
        self,
        plan: Plan,
        task_class: Any,
        config: ScheduleConfig,
        tick: datetime,
        moment: datetime,
        recorded: dict[str, datetime],
    ) -> None:
        name = config.name
        done = self._synced.get(name)
        if self._gap(name, tick):
            late = done is None and (moment - tick).total_seconds() > START_GRACE
            upto = tick if late else tick - _MINUTE
            plan_catch_up(plan, task_class, config, done, upto, moment, recorded.get(name))
            if late:
                plan.synced[name] = tick
                return
        if self._is_due(config, tick):
            plan.runs.append(Run(task_class, config, tick, caught_up=False))
        plan.synced[name] = tick

    def _is_due(self, config: ScheduleConfig, tick: datetime) -> bool:
        at, known = self._due
        if at != tick:
            known = {}
            self._due = (tick, known)
        key = (config.cron, config.timezone)
        due = known.get(key)
        if due is None:
            due = known[key] = is_due(config.cron, zone(config.timezone), tick)
        return due

    def _fire_plain(self, task_class: Any, tick: datetime, moment: datetime) -> None:
        """A periodic task registered with plain ``huey.periodic_task``: huey's rule (its
        ``validate_datetime`` on huey's clock), but on the minute and once across runners."""
        key = f"huey:{self.huey._registry.task_to_string(task_class)}"
        done = self._synced.get(key)
        if done is not None and done >= tick:
            return
        if done is None and (moment - tick).total_seconds() > START_GRACE:
            self._synced[key] = tick  # started late in this minute: as for schedules
            return
        task = task_class()
        if task.validate_datetime(self._huey_time(tick)) and claim(
            self.huey.storage, key, tick, runner_id()
        ):
            try:
                self.huey.enqueue(task)
            except Exception:
                release(self.huey.storage, key, tick)
                raise
            log.info("periodic task %s: tick %s: enqueued task %s", key, _label(tick), task.id)
        self._synced[key] = tick

    def _huey_time(self, moment: datetime) -> datetime:
        """``moment`` on huey's clock: naive UTC, or naive local time when ``utc=False``."""
        if self.huey.utc:
            return moment.astimezone(UTC).replace(tzinfo=None)
        return moment.astimezone().replace(tzinfo=None)


def _add_decided(done: dict[str, datetime], runs: list[Run], advance: dict[str, datetime]) -> None:
    """Add to ``done`` the last tick decided of each schedule (``advance``: caught up to),
    but none of a schedule with a run that failed: it is decided again at the next wake-up."""
    decided = dict(advance)
    failed = {r.config.name for r in runs if r.outcome == "failed"}
    for run in runs:
        if run.outcome not in ("taken", "failed", "pending"):
            name = run.config.name
            if name not in decided or run.tick > decided[name]:
                decided[name] = run.tick
    for name, tick in decided.items():
        if name not in failed:
            done[name] = tick


def _next_multiple(moment: datetime, seconds: int) -> datetime:
    """The first instant after ``moment`` that is a whole multiple of ``seconds`` (epoch) plus
    :data:`WAKE_MARGIN`: in phase with the minute wake-up, so a minute costs one wake-up."""
    epoch = moment.timestamp() - WAKE_MARGIN
    return datetime.fromtimestamp((epoch // seconds + 1) * seconds + WAKE_MARGIN, UTC)
