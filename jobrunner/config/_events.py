"""An instance's ``events:`` mapping, resolved into :class:`EventsConfig` (docs/events.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobrunner.config._duration import parse_duration
from jobrunner.config._yaml import Document
from jobrunner.config.model import EventsConfig
from jobrunner.errors import Issue

# Backends whose storage can hold the history (a table, a capped stream).
HISTORY_BACKENDS = frozenset({"sqlite", "redis", "redis-expire", "priority-redis", "postgres"})
REDIS_BACKENDS = frozenset({"redis", "redis-expire", "priority-redis"})


def events_config(
    name: str, backend: str, raw: Any, folder: Path, doc: Document, issues: list[Issue]
) -> EventsConfig:
    """The events settings of instance ``name``; the schema has checked the shape already."""
    where = ("instances", name, "events")
    values: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    history = values.get("history", backend in HISTORY_BACKENDS)
    keep, max_age = EventsConfig.keep, EventsConfig.max_age
    if isinstance(history, dict):
        keep = int(history.get("keep", keep))
        max_age = parse_duration(history.get("max_age", max_age))
        history = True
    if history and backend not in HISTORY_BACKENDS:
        issues.append(
            doc.issue(
                (*where, "history"),
                f"the {backend} backend cannot keep a history",
                "use sqlite, redis or postgres, or set history: false",
            )
        )
    redis = values.get("redis", False)
    url = channel = None
    if isinstance(redis, dict):
        url = redis.get("url")
        channel = redis.get("channel")
        redis = True
    if redis and url is None and backend not in REDIS_BACKENDS:
        issues.append(
            doc.issue(
                (*where, "redis"),
                f"redis: true publishes on the instance's own Redis, and {backend} is not Redis",
                "give the server: redis: {url: redis://host:6379/0}",
            )
        )
    log = values.get("log")
    if log is not None and log not in ("stdout", "stderr") and not Path(log).is_absolute():
        log = str(folder / log)
    return EventsConfig(
        redis=bool(redis),
        redis_url=url,
        channel=channel,
        log=log,
        history=bool(history),
        keep=keep,
        max_age=max_age,
        capture_args=bool(values.get("capture_args", False)),
        enqueued=bool(values.get("enqueued", False)),
    )
