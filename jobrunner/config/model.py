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
class Callback:
    """A function named in the file (``module.path:attr``) and where: setup, hooks, handlers."""

    reference: str
    location: Location
    key: str  # its dotted path in the file, e.g. ``instances.default.hooks.on_startup[0]``


@dataclass(frozen=True)
class LockConfig:
    """``lock:``: huey's ``lock_task``; ``ttl`` frees a lock a crashed run left behind."""

    name: str
    ttl: float | None = None


@dataclass(frozen=True)
class RateLimitConfig:
    """``rate_limit:``: huey's rate limit, at most ``limit`` runs per ``per`` seconds."""

    limit: int
    per: float
    name: str | None = None  # None: the task's (or schedule's) own name
    retry: bool = True


@dataclass(frozen=True)
class ContextManagerConfig:
    """``context_manager:``: huey's ``context_task(obj, as_argument=)``."""

    reference: str
    as_argument: bool = False


@dataclass(frozen=True)
class SignalConfig:
    """``signals:`` entry: ``handler`` called as huey calls signal handlers, for ``on``."""

    handler: Callback
    on: tuple[str, ...] = ()  # empty: every signal


@dataclass(frozen=True)
class HooksConfig:
    """``hooks:`` of an instance, registered with huey's decorators of the same names."""

    on_startup: tuple[Callback, ...] = ()
    on_shutdown: tuple[Callback, ...] = ()
    pre_execute: tuple[Callback, ...] = ()
    post_execute: tuple[Callback, ...] = ()


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
    lock: LockConfig | None = None
    rate_limit: RateLimitConfig | None = None
    context_manager: ContextManagerConfig | None = None


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
class EventsConfig:
    """An instance's ``events:`` sinks (docs/events.md). ``log``: stdout, stderr or a path."""

    redis: bool = False
    redis_url: str | None = None
    channel: str | None = None
    log: str | None = None
    history: bool = False
    keep: int = 100_000
    max_age: float = 7 * 86400.0
    capture_args: bool = False
    enqueued: bool = False

    def __repr__(self) -> str:
        # The URL may hold a password.
        return f"EventsConfig(redis={self.redis}, log={self.log!r}, history={self.history})"


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
    events: EventsConfig = field(default_factory=EventsConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)
    signals: tuple[SignalConfig, ...] = ()


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
class HttpConfig:
    """The runner's HTTP endpoint (``http:``): listen address, bearer token, exposure."""

    listen: str = "127.0.0.1:9187"
    token: str | None = None
    public: bool = False
    location: Location | None = None
    dashboard: str = "on"  # "on", "off" or "read-only" (jobrunner/web/dashboard)

    def __repr__(self) -> str:
        # Never let the token reach a log line through a repr.
        token = "***" if self.token else None
        return f"HttpConfig(listen={self.listen!r}, token={token}, public={self.public})"


@dataclass(frozen=True)
class HandlesConfig:
    """``handles:``: where ``jobrunner generate`` writes the typed handles module."""

    output: Path | None = None


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
    http: HttpConfig | None = None
    handles: HandlesConfig = field(default_factory=HandlesConfig)
    setup: tuple[Callback, ...] = ()
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    @property
    def folder(self) -> Path:
        return self.path.parent
