"""One huey object per instance: the right ``*Huey`` class and keyword arguments per backend."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import huey
from huey.serializer import SignedSerializer

from jobrunner.config._imports import import_object
from jobrunner.config.model import InstanceConfig

_CLASSES: dict[str, type[huey.Huey]] = {
    "sqlite": huey.SqliteHuey,
    "redis": huey.RedisHuey,
    "redis-expire": huey.RedisExpireHuey,
    "priority-redis": huey.PriorityRedisHuey,
    "postgres": huey.PostgresHuey,
    "file": huey.FileHuey,
    "memory": huey.MemoryHuey,
}
_REDIS = frozenset({"redis", "redis-expire", "priority-redis"})


def make_huey(instance: InstanceConfig, *, immediate: bool = False) -> huey.Huey:
    """A huey object for ``instance``; ``immediate`` forces eager mode (JOBRUNNER_IMMEDIATE)."""
    kwargs: dict[str, Any] = {
        "name": instance.queue_name,
        "results": instance.results,
        "store_none": instance.store_none,
        "utc": instance.utc,
        "immediate": immediate or instance.immediate,
    }
    if instance.serializer.secret:
        kwargs["serializer"] = SignedSerializer(
            secret=instance.serializer.secret,
            salt=instance.serializer.salt,
            compression=instance.compression,
        )
    else:
        kwargs["compression"] = instance.compression
    storage = dict(instance.storage)
    if instance.backend in _REDIS:
        # Wake Result.get(blocking=True) on a push instead of polling: ~1 ms
        # instead of ~50 ms round trips (docs/performance.md).
        storage.setdefault("notify_result", True)
    if instance.backend == "custom":
        storage_class = import_object(instance.storage_class or "")
        return huey.Huey(storage_class=storage_class, **kwargs, **storage)
    return _CLASSES[instance.backend](**kwargs, **storage)


def safe_target(instance: InstanceConfig) -> str:
    """Where ``instance`` stores its data, fit for a log line (no password)."""
    storage = instance.storage
    if instance.backend in _REDIS:
        if "url" in storage:
            return _hide_password(str(storage["url"]))
        host = storage.get("host", "127.0.0.1")
        return f"redis://{host}:{storage.get('port', 6379)}/{storage.get('db', 0)}"
    if instance.backend == "postgres":
        dsn = str(storage.get("dsn", ""))
        if "://" in dsn:
            return _hide_password(dsn)
        return " ".join(p for p in dsn.split() if not p.startswith("password=")) or "libpq defaults"
    if instance.backend == "sqlite":
        return str(storage.get("filename"))
    if instance.backend == "file":
        return str(storage.get("path"))
    if instance.backend == "custom":
        return str(instance.storage_class)
    return instance.backend


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
