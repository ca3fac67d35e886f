"""What a load keeps so that the next load of the same file (a hot reload) rebuilds only
what changed.

A task or schedule whose mapping is exactly what it was (same keys, values of the same
types), in a file whose other sections are exactly what they were, resolves to the same
frozen object as before: the reload reuses that object (moved to its new line when the
file shifted), and the schema checks only the definitions that changed. Only definitions
that resolved without any issue (not even a warning) are kept, so every warning of a
file is still reported at each load.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from jobrunner.config._schema import load_schema
from jobrunner.config.model import Location, ScheduleConfig, TaskConfig

SECTIONS = ("tasks", "schedules")

_Definition = TypeVar("_Definition", TaskConfig, ScheduleConfig)


@dataclass
class Reuse:
    """Definitions of one load, by section and name: (raw mapping, resolved object)."""

    path: Path
    context: dict[str, Any]  # the document but its tasks and schedules
    tasks: dict[str, tuple[Any, TaskConfig]] = field(default_factory=dict)
    schedules: dict[str, tuple[Any, ScheduleConfig]] = field(default_factory=dict)


@dataclass
class Unchanged:
    """What a load may take over from the previous one: the objects of unchanged definitions."""

    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    schedules: dict[str, ScheduleConfig] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tasks or self.schedules)


def context_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """Everything a definition's resolution may depend on besides the definitions."""
    return {key: value for key, value in data.items() if key not in SECTIONS}


def unchanged(previous: Reuse | None, data: Any, path: Path) -> Unchanged:
    """The definitions of ``data`` that are exactly as in ``previous`` (none without one)."""
    found = Unchanged()
    if previous is None or not isinstance(data, dict) or previous.path != path:
        return found
    if not same(context_of(data), previous.context):
        return found
    tasks = data.get("tasks")
    if isinstance(tasks, dict):
        for name, raw in tasks.items():
            kept = previous.tasks.get(name)
            if kept is not None and same(raw, kept[0]):
                found.tasks[name] = kept[1]
    schedules = data.get("schedules")
    if isinstance(schedules, dict):
        for name, raw in schedules.items():
            kept_schedule = previous.schedules.get(name)
            if kept_schedule is None or not same(raw, kept_schedule[0]):
                continue
            # A schedule that names a task takes its function, instance and options.
            task = raw.get("task") if isinstance(raw, dict) else None
            if task is None or task in found.tasks:
                found.schedules[name] = kept_schedule[1]
    return found


def to_check(data: Any, found: Unchanged) -> Any:
    """``data`` less what the schema need not see again: what it has to check.

    Each definition is checked against its own part of the schema, whatever the others
    hold: an unchanged one passed when the previous load checked it, and of definitions
    written alike (same keys and values, of the same types) one stands for all, once
    every name is known to match the section's name pattern. On any error the whole
    document is explained (``validate_schema``), so the messages are the same.
    """
    if not isinstance(data, dict):
        return data
    reduced = dict(data)
    for section, names in (("tasks", found.tasks), ("schedules", found.schedules)):
        entries = data.get(section)
        if isinstance(entries, dict):
            reduced[section] = _distinct(entries, names, _name_pattern(section))
    return reduced


def _distinct(
    entries: dict[str, Any], skip: Mapping[str, Any], name: re.Pattern[str]
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    seen: set[Any] = set()
    for key, value in entries.items():
        if key in skip:
            continue
        try:
            shape = _shape(value)
        except TypeError:  # a value that cannot be hashed: checked on its own
            kept[key] = value
            continue
        if shape in seen and isinstance(key, str) and name.search(key):
            continue
        seen.add(shape)
        kept[key] = value
    return kept


def _shape(value: Any) -> Any:
    """A hashable key equal for values that are equal with the same types throughout."""
    if isinstance(value, dict):
        return (dict, tuple((key, _shape(child)) for key, child in value.items()))
    if isinstance(value, list):
        return (list, tuple(_shape(child) for child in value))
    return (type(value), value)


@functools.cache
def _name_pattern(section: str) -> re.Pattern[str]:
    return re.compile(load_schema()["properties"][section]["propertyNames"]["pattern"])


def relocated(definition: _Definition, file: str, line: int, column: int) -> _Definition:
    """``definition`` at ``line:column`` of ``file``, where it stands now (a line added above
    moves it)."""
    old = definition.location
    if (old.line, old.column, old.file) == (line, column, file):
        return definition
    return replace(definition, location=Location(file, line, column))


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types throughout: YAML's `1`, `1.0` and `true` differ here."""
    return bool(a == b) and _same_types(a, b)


def _same_types(a: Any, b: Any) -> bool:
    # Only called on equal values (same keys, same length): the types are what is left.
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        pairs: Any = ((value, b[key]) for key, value in a.items())
    elif kind is list:
        pairs = zip(a, b, strict=True)
    else:
        return True
    for x, y in pairs:
        inner = type(x)
        if inner is dict or inner is list:
            if not _same_types(x, y):
                return False
        elif inner is not type(y):
            return False
    return True
