"""The consumer of one instance: huey's Consumer, built from the instance's config."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import huey
from huey.consumer import Consumer

from jobrunner.config.model import ConsumerConfig


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


def make_consumer(app_huey: huey.Huey, settings: ConsumerConfig) -> Consumer:
    """huey's consumer for ``app_huey`` with ``settings``."""
    consumer: Consumer = app_huey.create_consumer(**consumer_options(settings))
    return consumer
