"""Typed, frozen configuration objects: what every stage after validation sees.

Nothing downstream of :func:`jobrunner.config.load_config` handles raw dicts;
these objects are built once from a validated document and never change (a hot
reload builds new ones and compares).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobrunner.scheduling import Cron

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Location:
    """Where a definition stands in its file (1-based)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class TaskOptions:
    """huey task options: the YAML ``defaults`` merged with a task's own keys."""

    retries: int = 0
    retry_delay: float = 0.0
    retry_backoff: float = 0.0
    priority: int | None = None
    expires: float | None = None
    timeout: float | None = None
    context: bool = False


@dataclass(frozen=True)
class ConsumerConfig:
    """Consumer settings. The defaults differ from huey's where noted in docs/performance.md."""

    workers: int = 4
    worker_type: str = "thread"
    periodic: bool = True
    initial_delay: float = 0.01
    backoff: float = 1.5
    max_delay: float = 0.05
    scheduler_interval: int = 1
    check_worker_health: bool = True
    health_check_interval: float = 10.0
    flush_locks: bool = False
    max_tasks: int | None = None
    shutdown_timeout: float | None = None


@dataclass(frozen=True)
class SerializerConfig:
    secret: str | None = None
    salt: str = "huey"
    unsigned: bool = False

    def __repr__(self) -> str:
        # Never let the secret reach a log line through a repr.
        return (
            f"SerializerConfig(secret={'***' if self.secret else None}, salt={self.salt!r}, "
            f"unsigned={self.unsigned!r})"
        )


@dataclass(frozen=True)
class InstanceConfig:
    """One huey instance: its storage backend, options and consumer."""

    name: str
    backend: str
    location: Location
    queue_name: str
    storage: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    storage_class: str | None = None
    results: bool = True
    store_none: bool = False
    immediate: bool = False
    utc: bool = True
    timezone: str | None = None
    compression: bool = False
    serializer: SerializerConfig = field(default_factory=SerializerConfig)
    delivery: str = "at_least_once"
    lease: float = 30.0
    consumer: ConsumerConfig = field(default_factory=ConsumerConfig)


@dataclass(frozen=True)
class TaskConfig:
    """A task: an importable function registered under the stable name ``name``."""

    name: str
    function: str
    instance: str
    options: TaskOptions
    location: Location


@dataclass(frozen=True)
class ScheduleConfig:
    """A periodic schedule: when ``cron`` is due in ``timezone``, run ``function``."""

    name: str
    function: str
    instance: str
    cron: Cron
    timezone: str
    options: TaskOptions
    location: Location
    task: str | None = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    enabled: bool = True
    overlap: str = "allow"
    catchup: str = "none"
    catchup_window: float | None = None
    jitter: float = 0.0


@dataclass(frozen=True)
class LoggingConfig:
    """How ``jobrunner run`` logs (``logging:``); the command line's options win."""

    format: str = "text"
    level: str = "info"


@dataclass(frozen=True)
class Config:
    """A whole validated ``jobs.yaml``."""

    path: Path
    instances: Mapping[str, InstanceConfig]
    tasks: Mapping[str, TaskConfig]
    schedules: Mapping[str, ScheduleConfig]
    defaults: TaskOptions = field(default_factory=TaskOptions)
    timezone: str = "UTC"
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    @property
    def folder(self) -> Path:
        return self.path.parent
