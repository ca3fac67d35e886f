"""An ``instances:`` entry turned into an :class:`InstanceConfig`, with the checks a schema
cannot do (connections, delivery, time zone)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobrunner.config import _hooks
from jobrunner.config._checks import check_zone, location
from jobrunner.config._connections import check_connection, check_greenlet_driver
from jobrunner.config._duration import parse_duration
from jobrunner.config._events import events_config
from jobrunner.config._limits import quote
from jobrunner.config._yaml import Document
from jobrunner.config.model import ConsumerConfig, InstanceConfig, SerializerConfig
from jobrunner.errors import Issue

# Instance keys that configure jobrunner/huey itself; every other key of an
# instance is a keyword argument of its storage class.
INSTANCE_KEYS = frozenset(
    {
        "backend",
        "name",
        "results",
        "store_none",
        "immediate",
        "utc",
        "timezone",
        "compression",
        "serializer",
        "delivery",
        "lease",
        "consumer",
        "events",
        "hooks",
        "signals",
    }
)


def resolve_instance(
    name: str, raw: Mapping[str, Any], doc: Document, folder: Path, path: Path, issues: list[Issue]
) -> InstanceConfig:
    where = ("instances", name)
    backend = raw.get("backend", "sqlite")
    storage = {k: v for k, v in raw.items() if k not in INSTANCE_KEYS}
    if backend == "sqlite":
        filename = storage.get("filename", f"{path.stem}.db")
        if filename != ":memory:" and not Path(filename).is_absolute():
            filename = str(folder / filename)
        storage["filename"] = filename
    if backend == "file":
        storage["path"] = str(folder / storage["path"])
    storage_class = storage.pop("storage_class", None)
    if backend == "custom":
        storage = dict(storage.pop("options", {}) or {})
    if "timezone" in raw:
        check_zone(raw["timezone"], (*where, "timezone"), doc, issues)
    serializer = SerializerConfig(**(raw.get("serializer") or {}))
    check_connection(name, backend, raw, serializer, doc, issues)
    if backend in _AT_MOST_ONCE_BACKENDS:
        _check_delivery(name, backend, raw.get("delivery"), doc, issues)
    consumer_raw = dict(raw.get("consumer") or {})
    check_greenlet_driver(name, consumer_raw, doc, issues)
    if "shutdown_timeout" in consumer_raw:
        consumer_raw["shutdown_timeout"] = parse_duration(consumer_raw["shutdown_timeout"])
    return InstanceConfig(
        name=name,
        backend=backend,
        location=location(doc, where),
        queue_name=raw.get("name", name),
        storage=MappingProxyType(storage),
        storage_class=storage_class,
        results=raw.get("results", True),
        store_none=raw.get("store_none", False),
        immediate=raw.get("immediate", False),
        utc=raw.get("utc", True),
        timezone=raw.get("timezone"),
        compression=raw.get("compression", False),
        serializer=serializer,
        delivery=raw.get("delivery", "at_least_once"),
        lease=parse_duration(raw.get("lease", 30)),
        consumer=ConsumerConfig(**consumer_raw),
        events=events_config(name, backend, raw.get("events"), folder, doc, issues),
        hooks=_hooks.hooks(doc, (*where, "hooks"), raw.get("hooks")),
        signals=_hooks.signals(doc, (*where, "signals"), raw.get("signals")),
    )


# Backends without an at-least-once store (jobrunner/delivery): the consumer runs huey's
# own at-most-once worker. A custom storage may subclass a built-in one yet change how it
# queues, so the built-in stores' raw SQL or Redis commands must not be used on it.
_AT_MOST_ONCE_BACKENDS = frozenset({"file", "custom"})


def _check_delivery(
    name: str, backend: str, delivery: Any, doc: Document, issues: list[Issue]
) -> None:
    where = ("instances", name)
    if delivery == "at_least_once":
        issues.append(
            doc.issue(
                (*where, "delivery"),
                f"the {backend} backend has no at-least-once delivery",
                "use sqlite, redis or postgres for at-least-once, or set delivery: at_most_once",
            )
        )
    elif delivery is None:
        issues.append(
            doc.issue(
                where,
                f"instance {quote(name)} runs at most once: the {backend} backend has no "
                "at-least-once delivery (a crash loses the tasks it was running)",
                "set delivery: at_most_once to say so, or use sqlite, redis or postgres",
                key=True,
                severity="warning",
            )
        )
