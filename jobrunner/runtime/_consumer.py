"""The consumer of one instance: huey's Consumer, built from the instance's config."""

from __future__ import annotations

import signal
from dataclasses import replace
from typing import Any

import huey
from huey.consumer import Consumer, ProcessEnvironment

from jobrunner._outage import outage_of
from jobrunner._polling import PollingWorker
from jobrunner.config.model import ConsumerConfig, InstanceConfig
from jobrunner.delivery import Delivery, DeliveryWorker, delivery_for, secrets_of
from jobrunner.delivery._delivery import new_consumer_id
from jobrunner.events import ConsumerEvents
from jobrunner.runtime._banner import install as install_banner_summary
from jobrunner.scheduling._scheduler import JobRunnerScheduler


def consumer_options(settings: ConsumerConfig) -> dict[str, Any]:
    """Keyword arguments of ``huey.Huey.create_consumer`` for ``settings``."""
    return {
        "workers": settings.workers,
        "worker_type": settings.worker_type,
        "periodic": settings.periodic,
        "initial_delay": settings.initial_delay,
        "backoff": settings.backoff,
        "max_delay": settings.max_delay,
        "scheduler_interval": settings.scheduler_interval,
        "check_worker_health": settings.check_worker_health,
        "health_check_interval": settings.health_check_interval,
        "flush_locks": settings.flush_locks,
        "max_tasks": settings.max_tasks,
        "shutdown_timeout": settings.shutdown_timeout,
    }


def with_overrides(
    settings: ConsumerConfig, *, workers: int | None, worker_type: str | None, periodic: bool | None
) -> ConsumerConfig:
    """``settings`` with the command line's ``--workers``, ``--worker-type`` and ``-n`` applied."""
    changes: dict[str, Any] = {}
    if workers is not None:
        changes["workers"] = workers
    if worker_type is not None:
        changes["worker_type"] = worker_type
    if periodic is not None:
        changes["periodic"] = periodic
    return replace(settings, **changes)


class _ProcessEnvironment(ProcessEnvironment):  # type: ignore[misc]
    """Process workers that finish their running task on SIGINT and on SIGTERM alike.

    A service manager (systemd's default KillMode, supervisord's stopasgroup,
    ``kill -TERM -PGID``) signals the whole process group, workers included.
    huey's workers ignore only the graceful signal and abort their task on the
    other; these ignore both, and the parent interrupts them with SIGUSR1 (on a
    second signal or when ``shutdown_timeout`` elapses).
    """

    def __init__(self, graceful: int, interrupt: int) -> None:
        super().__init__(graceful, signal.SIGUSR1)

    def init_child(self, process: Any) -> None:
        super().init_child(process)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def interrupt_workers(self, procs: list[Any]) -> None:
        super().interrupt_workers(procs)  # SIGUSR1, then a one-second join
        # A worker that survived (its task swallowed the interrupt, or is stuck in C
        # code) would ignore multiprocessing's SIGTERM at exit and hang the runner.
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1)


class _Consumer(Consumer):  # type: ignore[misc]
    def get_environment(self, worker_type: str) -> Any:
        if worker_type == "process":
            return _ProcessEnvironment(self._graceful_sig, self._interrupt_sig)
        return super().get_environment(worker_type)

    def _set_signal_handlers(self) -> None:
        # The Runner owns the process's signals for all its consumers; huey's
        # handlers would only note a signal on this one consumer, unread.
        pass


class JobRunnerConsumer(_Consumer):
    """huey's consumer with jobrunner's scheduler: schedules fire on the minute, in their own
    time zone, once per tick across runners (see ``jobrunner.scheduling._scheduler``).

    ``lease`` is how long a killed worker's run keeps blocking an ``overlap: skip`` schedule.
    """

    scheduler_class = JobRunnerScheduler
    worker_class = PollingWorker  # at-most-once; at-least-once builds a DeliveryWorker below
    events: ConsumerEvents | None = None  # set by make_consumer

    def __init__(
        self,
        huey: huey.Huey,
        *,
        lease: float = 30.0,
        delivery: Delivery | None = None,
        **options: Any,
    ) -> None:
        # huey's __init__ creates the scheduler, which needs the lease, and the
        # workers, which need the delivery (None: huey's own at-most-once worker).
        self.schedule_lease = lease
        self.delivery = delivery
        super().__init__(huey, **options)

    def _create_worker(self) -> Any:
        if self.delivery is None:
            return super()._create_worker()
        return DeliveryWorker(
            huey=self.huey,
            stop_flag=self.stop_flag,
            default_delay=self.default_delay,
            max_delay=self.max_delay,
            backoff=self.backoff,
            max_tasks=self.max_tasks,
            delivery=self.delivery,
        )

    def start(self) -> None:
        install_banner_summary()
        if self.delivery is not None:
            # Lease first: a worker may take a message as soon as it starts.
            self.delivery.start()
        if self.events is not None:
            # Before the workers fork: they inherit the signal handlers.
            self.events.start()
        super().start()

    def stop(self, graceful: bool = False) -> None:
        try:
            super().stop(graceful=graceful)
        finally:
            if self.delivery is not None:
                # Puts back the tasks the shutdown timeout cut off.
                self.delivery.stop()
            if self.events is not None:
                self.events.stop()

    def _create_scheduler(self) -> JobRunnerScheduler:
        # Kept for the health checks (huey keeps only the thread or process running it).
        self.scheduler_impl = JobRunnerScheduler(
            huey=self.huey,
            stop_flag=self.stop_flag,
            interval=self.scheduler_interval,
            periodic=self.periodic,
            lease=self.schedule_lease,
        )
        return self.scheduler_impl


def make_consumer(
    app_huey: huey.Huey,
    settings: ConsumerConfig,
    *,
    lease: float = 30.0,
    instance: InstanceConfig | None = None,
) -> Consumer:
    """huey's consumer for ``app_huey`` with ``settings`` (``lease``: the instance's lease).

    With ``instance``, its ``delivery`` applies (at-least-once workers by default).
    """
    if instance is not None:
        # Before the workers and the scheduler are made: they share it (see _outage.py).
        outage_of(app_huey, f"instance {instance.name}", secrets_of(instance))
    delivery = delivery_for(app_huey, instance) if instance is not None else None
    consumer = JobRunnerConsumer(
        app_huey, lease=lease, delivery=delivery, **consumer_options(settings)
    )
    if instance is not None:
        consumer_id = delivery.consumer_id if delivery is not None else new_consumer_id()
        consumer.events = ConsumerEvents(
            app_huey, instance, consumer_id, settings.workers, settings.worker_type
        )
    return consumer
