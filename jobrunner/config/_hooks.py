"""The keys that reach huey's other decorators: ``setup``, ``hooks``, ``signals``, ``lock``,
``rate_limit`` and ``context_manager``, turned into frozen config objects.

The schema has checked their shape; here they get their locations (every function
named in the file is reported at its own line when it fails) and the checks a
schema cannot make.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobrunner.config._duration import parse_duration
from jobrunner.config._yaml import Document, Path_, dotted
from jobrunner.config.model import (
    Callback,
    ContextManagerConfig,
    HooksConfig,
    Location,
    LockConfig,
    RateLimitConfig,
    SignalConfig,
    TaskOptions,
)
from jobrunner.errors import Issue

HOOK_KINDS = ("on_startup", "on_shutdown", "pre_execute", "post_execute")
# Storages whose put_if_empty cannot take a ttl (jobrunner adds it to sqlite, redis, postgres).
_NO_LOCK_TTL = frozenset({"file"})


def callback(doc: Document, path: Path_, reference: str) -> Callback:
    line, column = doc.where(path)
    return Callback(reference, Location(doc.file, line, column), dotted(path))


def _callbacks(doc: Document, path: Path_, raw: Any) -> tuple[Callback, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        callback(doc, (*path, i), item) for i, item in enumerate(raw) if isinstance(item, str)
    )


def setup_callbacks(doc: Document) -> tuple[Callback, ...]:
    """The top-level ``setup:`` functions, in file order."""
    data = doc.data if isinstance(doc.data, Mapping) else {}
    return _callbacks(doc, ("setup",), data.get("setup"))


def hooks(doc: Document, where: Path_, raw: Any) -> HooksConfig:
    """An instance's ``hooks:`` mapping."""
    if not isinstance(raw, Mapping):
        return HooksConfig()
    return HooksConfig(
        **{kind: _callbacks(doc, (*where, kind), raw.get(kind)) for kind in HOOK_KINDS}
    )


def signals(doc: Document, where: Path_, raw: Any) -> tuple[SignalConfig, ...]:
    """An instance's ``signals:`` list."""
    if not isinstance(raw, list):
        return ()
    found = []
    for i, entry in enumerate(raw):
        if isinstance(entry, Mapping) and isinstance(entry.get("handler"), str):
            handler = callback(doc, (*where, i, "handler"), entry["handler"])
            found.append(SignalConfig(handler, tuple(entry.get("on") or ())))
    return tuple(found)


def lock(raw: Any) -> LockConfig:
    """``lock: NAME`` or ``lock: {name: NAME, ttl: 5m}``."""
    if isinstance(raw, str):
        return LockConfig(raw)
    ttl = raw.get("ttl")
    return LockConfig(raw["name"], parse_duration(ttl) if ttl is not None else None)


def rate_limit(raw: Mapping[str, Any]) -> RateLimitConfig:
    """``rate_limit: {limit: N, per: 1m}`` (optionally ``name`` and ``retry``)."""
    return RateLimitConfig(
        limit=raw["limit"],
        per=parse_duration(raw["per"]),
        name=raw.get("name"),
        retry=raw.get("retry", True),
    )


def context_manager(raw: Any) -> ContextManagerConfig:
    """``context_manager: module:attr`` or ``{object: module:attr, as_argument: true}``."""
    if isinstance(raw, str):
        return ContextManagerConfig(raw)
    return ContextManagerConfig(raw["object"], raw.get("as_argument", False))


# Option keys whose YAML value becomes a config object.
CONVERTERS = {"lock": lock, "rate_limit": rate_limit, "context_manager": context_manager}


def check_options(
    doc: Document, where: Path_, options: TaskOptions, backend: str | None, issues: list[Issue]
) -> None:
    """What the schema cannot say about a task's (or schedule's) lock and rate limit."""
    limit = options.rate_limit
    if limit is not None and limit.per < 1:
        issues.append(
            doc.issue(
                (*where, "rate_limit", "per"),
                f"rate_limit per must be at least 1 second, got {limit.per:g}s",
                "huey counts runs in windows of whole seconds; use e.g. per: 1s and a lower limit",
            )
        )
    if options.lock is not None and options.lock.ttl is not None and backend in _NO_LOCK_TTL:
        issues.append(
            doc.issue(
                (*where, "lock", "ttl"),
                f"the {backend} backend cannot expire a lock",
                "remove ttl (flush_locks: true clears locks when the consumer starts), or use "
                "sqlite, redis or postgres",
            )
        )


def references(data: Mapping[str, Any]) -> dict[Path_, str]:
    """Every function named by these keys, by its path: what ``validate`` imports.

    ``setup`` is left out: it is imported when it runs (:mod:`jobrunner.config._setup`).
    """
    refs: dict[Path_, str] = {}

    def add(path: Path_, value: Any) -> None:
        if isinstance(value, Mapping) and path[-1] == "context_manager":
            path, value = (*path, "object"), value.get("object")
        if isinstance(value, str) and ":" in value:
            refs[path] = value

    for section in ("tasks", "schedules"):
        entries = data.get(section)
        if isinstance(entries, Mapping):
            for name, raw in entries.items():
                if isinstance(raw, Mapping):
                    add((section, name, "context_manager"), raw.get("context_manager"))
    defaults = data.get("defaults")
    if isinstance(defaults, Mapping):
        add(("defaults", "context_manager"), defaults.get("context_manager"))
    instances = data.get("instances")
    for name, raw in instances.items() if isinstance(instances, Mapping) else ():
        if not isinstance(raw, Mapping):
            continue
        raw_hooks = raw.get("hooks")
        if not isinstance(raw_hooks, Mapping):
            raw_hooks = {}
        for kind in HOOK_KINDS:
            items = raw_hooks.get(kind)
            for i, item in enumerate(items if isinstance(items, list) else ()):
                add(("instances", name, "hooks", kind, i), item)
        raw_signals = raw.get("signals")
        for i, entry in enumerate(raw_signals if isinstance(raw_signals, list) else ()):
            if isinstance(entry, Mapping):
                add(("instances", name, "signals", i, "handler"), entry.get("handler"))
    return refs
