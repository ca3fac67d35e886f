"""The difference between two configs: what a reload changes, as its log line says it.

Pure comparisons of frozen :class:`Config` objects; nothing here touches huey.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from jobrunner.config import Config, InstanceConfig, ScheduleConfig, TaskConfig
from jobrunner.config.model import (
    Callback,
    ContextManagerConfig,
    HooksConfig,
    LockConfig,
    RateLimitConfig,
    SignalConfig,
)
from jobrunner.factory import safe_target
from jobrunner.scheduling import Cron

Definition = TaskConfig | ScheduleConfig


@dataclass(frozen=True)
class Change:
    """One entry of a reload's log line: ``+schedule nightly``, ``~task count (retries 2->3)``."""

    op: str  # "+" added, "~" changed, "-" removed
    kind: str  # "instance", "task" or "schedule"
    name: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.op}{self.kind} {self.name}"
        return f"{text} ({', '.join(self.details)})" if self.details else text


_OP_ORDER = {"+": 0, "~": 1, "-": 2}
_KIND_ORDER = {"instance": 0, "task": 1, "schedule": 2}


def log_order(change: Change) -> tuple[int, int, str]:
    """Sort key of a reload's log line: added, changed, removed; instances, tasks, schedules."""
    return (_OP_ORDER[change.op], _KIND_ORDER[change.kind], change.name)


def diff_configs(old: Config, new: Config) -> list[Change]:
    """What differs between two configs, in log order (added, changed, removed).

    A definition that only moved within the file (another line) is unchanged.
    """
    sections: tuple[tuple[str, Mapping[str, Any], Mapping[str, Any], Callable[..., list[str]]], ...]
    sections = (
        ("instance", old.instances, new.instances, instance_details),
        ("task", old.tasks, new.tasks, definition_details),
        ("schedule", old.schedules, new.schedules, definition_details),
    )
    changes = []
    for kind, before, after, details_of in sections:
        changes += [Change("+", kind, name) for name in after if name not in before]
        changes += [Change("-", kind, name) for name in before if name not in after]
        for name in before.keys() & after.keys():
            details: list[str] = details_of(before[name], after[name])
            if details:
                changes.append(Change("~", kind, name, tuple(details)))
    return sorted(changes, key=log_order)


def definition_details(old: Definition, new: Definition) -> list[str]:
    """``field old->new`` for each field of a task or schedule that differs."""
    if old is new:
        return []  # a reload took the unchanged definition over (config/_reuse.py)
    if replace(old, location=new.location) == new:
        return []  # the common case, and one comparison (a reload compares every definition)
    details: list[str] = []
    for f in fields(old):
        if f.name in ("name", "location"):
            continue
        before, after = getattr(old, f.name), getattr(new, f.name)
        if f.name == "options":
            details += _field_changes(before, after)
        elif _plain(before) != _plain(after):
            details.append(f"{f.name} {_show(before)}->{_show(after)}")
    return details


def instance_details(old: InstanceConfig, new: InstanceConfig) -> list[str]:
    """What differs between two definitions of an instance; secrets are never shown."""
    details = []
    if (old.backend, safe_target(old)) != (new.backend, safe_target(new)):
        details.append(
            f"storage {_show(f'{old.backend} {safe_target(old)}')}->"
            f"{_show(f'{new.backend} {safe_target(new)}')}"
        )
    else:
        # Storage values can be passwords or URLs with credentials: name the keys only.
        before, after = dict(old.storage), dict(new.storage)
        details += [
            f"storage.{key} changed"
            for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)
        ]
    for f in fields(old):
        if f.name in ("name", "location", "backend", "storage"):
            continue
        before, after = getattr(old, f.name), getattr(new, f.name)
        if f.name == "serializer":
            if before != after:
                details.append("serializer changed")
        elif f.name == "consumer":
            details += _field_changes(before, after)
        elif _plain(before) != _plain(after):
            details.append(f"{f.name} {_show(before)}->{_show(after)}")
    return details


def storage_moved(old: InstanceConfig, new: InstanceConfig) -> bool:
    """Whether ``new`` keeps its messages somewhere else than ``old`` did."""
    return _where(old) != _where(new)


def _where(instance: InstanceConfig) -> tuple[Any, ...]:
    return (instance.backend, _plain(instance.storage), instance.storage_class, instance.queue_name)


def _field_changes(old: Any, new: Any) -> list[str]:
    if not is_dataclass(old):
        return [] if old == new else [f"{_show(old)}->{_show(new)}"]
    return [
        f"{f.name} {_show(getattr(old, f.name))}->{_show(getattr(new, f.name))}"
        for f in fields(old)
        if _plain(getattr(old, f.name)) != _plain(getattr(new, f.name))
    ]


# Option and hook objects compare and print as their YAML would (a hook that only moved
# to another line is unchanged).
_DECLARED = (HooksConfig, SignalConfig, LockConfig, RateLimitConfig, ContextManagerConfig)


def _plain(value: Any) -> Any:
    if isinstance(value, Callback):
        return value.reference
    if isinstance(value, _DECLARED):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, Cron):
        return repr(str(value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (Mapping, tuple, list, *_DECLARED)):
        return repr(_plain(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)
