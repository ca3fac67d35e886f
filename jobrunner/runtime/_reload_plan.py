"""What a reload needs before it changes anything: the plan, and the rebuilt huey objects.

:func:`make_plan` decides which instances are rebuilt and which consumers run;
:func:`build_instance` prepares a rebuilt or added instance's huey object, its
tasks registered and imported, so that a failure rejects the reload untouched;
:func:`warn_orphans` counts the queued messages of definitions about to go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import huey
from huey.api import TaskWrapper

from jobrunner._outage import describe_error
from jobrunner.config import Config, InstanceConfig
from jobrunner.config._imports import explain_import_error
from jobrunner.delivery import secrets_of
from jobrunner.errors import ConfigError, Issue
from jobrunner.factory import (
    SCHEDULE_PREFIX,
    TASK_PREFIX,
    make_huey,
    register_schedule,
    register_task,
    safe_target,
)
from jobrunner.runtime._diff import Change, Definition, diff_configs, log_order, storage_moved
from jobrunner.runtime._hooks import install_hooks

if TYPE_CHECKING:
    from jobrunner.app import App
    from jobrunner.runtime._runner import Runner

log = logging.getLogger("jobrunner")


def selected(config: Config, instances: Iterable[str]) -> list[str]:
    """The instances that get a consumer: the chosen ones (or all), minus immediate ones."""
    names = list(instances) or list(config.instances)
    return [n for n in names if n in config.instances and not config.instances[n].immediate]


@dataclass
class Plan:
    """What a reload does: the log entries, the instances to rebuild, the consumers to run."""

    changes: list[Change]
    rebuild: set[str]  # instances (in the new config) that get a new huey object
    running_before: set[str]
    running_after: set[str]


def make_plan(
    old: Config, new: Config, running_before: set[str], instances: Iterable[str], runner: Runner
) -> Plan:
    """Decide what a reload from ``old`` to ``new`` does."""
    changes = diff_configs(old, new)
    running_after = set(selected(new, instances))
    rebuild = {c.name for c in changes if c.kind == "instance" and c.op == "~"}
    # Forked process workers hold the registry of the moment they were forked.
    touched = {
        definition.instance
        for c in changes
        if c.kind in ("task", "schedule")
        for definition in _definitions(old, new, c)
    }
    for name in touched & running_before & running_after:
        settings = runner.settings_for(new.instances[name])
        if settings.worker_type == "process":
            rebuild.add(name)
    restarted = rebuild & running_before & running_after
    for name in sorted(restarted):
        note = "consumer restarted"
        if storage_moved(old.instances[name], new.instances[name]):
            note += ", old storage drained"
        existing = next(
            (c for c in changes if c.kind == "instance" and c.name == name and c.op == "~"), None
        )
        if existing is None:
            changes.append(Change("~", "instance", name, ("process workers", note)))
        else:
            changes[changes.index(existing)] = replace(existing, details=(*existing.details, note))
    changes.sort(key=log_order)
    return Plan(changes, rebuild, running_before, running_after)


def _definitions(old: Config, new: Config, change: Change) -> list[Definition]:
    section = "tasks" if change.kind == "task" else "schedules"
    found: list[Definition] = []
    for config in (old, new):
        definition = getattr(config, section).get(change.name)
        if definition is not None:
            found.append(definition)
    return found


# --------------------------------------------------------------------------- prepare


@dataclass
class Built:
    """A new huey object for one instance with all its tasks and schedules registered."""

    huey: huey.Huey
    tasks: dict[str, TaskWrapper] = field(default_factory=dict)
    schedules: dict[str, TaskWrapper] = field(default_factory=dict)


def build_instance(instance: InstanceConfig, config: Config) -> Built:
    """A fresh huey for ``instance`` with its tasks registered and their functions imported.

    Raises :class:`ConfigError` (pointing at the instance, or at a function) on failure.
    """
    try:
        built = Built(make_huey(instance))
    except Exception as exc:
        loc = instance.location
        raise ConfigError(
            [
                Issue(
                    loc.file,
                    loc.line,
                    loc.column,
                    f"instances.{instance.name}",
                    f"cannot open its storage: {type(exc).__name__}: {exc}",
                    "check the storage settings, and that the server or folder is reachable",
                )
            ]
        ) from None
    install_hooks(built.huey, instance)
    issues = []
    for name, task in config.tasks.items():
        if task.instance == instance.name:
            built.tasks[name] = register_task(built.huey, task)
            issues += bind("tasks", task, built.tasks[name])
    for name, schedule in config.schedules.items():
        if schedule.instance == instance.name:
            built.schedules[name] = register_schedule(built.huey, schedule)
            issues += bind("schedules", schedule, built.schedules[name])
    if issues:
        raise ConfigError(issues)
    return built


def bind(section: str, definition: Definition, wrapper: TaskWrapper) -> list[Issue]:
    """Import the function behind ``wrapper`` now; the issue at ``section.name.function`` if not."""
    try:
        wrapper.func.bind()
    except Exception as exc:
        message, hint = explain_import_error(definition.function, exc)
        loc = definition.location
        return [
            Issue(
                loc.file,
                loc.line,
                loc.column,
                f"{section}.{definition.name}.function",
                message,
                hint,
            )
        ]
    return []


def count_waiting(app_huey: huey.Huey, names: Iterable[str]) -> dict[str, int]:
    """How many queued or scheduled messages each registered task name has in storage.

    Messages that cannot be read (another serializer, corrupt) are skipped.
    """
    counts = dict.fromkeys(names, 0)
    storage = app_huey.storage
    for items in (storage.enqueued_items(), storage.scheduled_items()):
        for data in items:
            try:
                message = app_huey.serializer.deserialize(data)
                name = message.name
            except Exception:
                continue
            if name in counts:
                counts[name] += 1
    return counts


def warn_orphans(app: App, old: Config, new: Config, built: Mapping[str, Built], path: str) -> None:
    """Warn about queued messages of tasks and schedules leaving an instance that stays."""
    leaving: dict[str, dict[str, tuple[str, str]]] = {}  # instance -> message name -> what
    for kind, prefix, before, after in (
        ("task", TASK_PREFIX, old.tasks, new.tasks),
        ("schedule", SCHEDULE_PREFIX, old.schedules, new.schedules),
    ):
        for name, definition in before.items():
            instance = definition.instance
            if instance not in new.instances:
                continue  # the whole instance goes; _hand_over reports its storage
            moved = instance in built and storage_moved(
                old.instances[instance], new.instances[instance]
            )
            if moved:
                continue  # the drain consumer still runs the old storage's messages
            successor = after.get(name)
            if successor is None or successor.instance != instance:
                leaving.setdefault(instance, {})[f"{prefix}.{name}"] = (kind, name)
    for instance, names in sorted(leaving.items()):
        try:
            counts = count_waiting(app.huey(instance), names)
        except Exception as exc:
            log.warning(
                "instance %s: cannot count the messages of removed tasks: %s", instance, exc
            )
            continue
        for message_name, count in sorted(counts.items()):
            if count:
                kind, name = names[message_name]
                log.warning(
                    "%s %s was removed while %d message%s for it %s waiting in instance %s; "
                    "they are kept, not dropped: a worker that meets them moves them to the "
                    "dead letters (see `jobrunner dead-letters %s`); add the %s back and "
                    "requeue them to run them",
                    kind,
                    name,
                    count,
                    "" if count == 1 else "s",
                    "is" if count == 1 else "are",
                    instance,
                    path,
                    kind,
                )


def unreachable(
    old: Mapping[str, InstanceConfig], new: Config, built: Mapping[str, Built], running: set[str]
) -> str | None:
    """Why a new or moved storage (address, credentials, queue) of ``built`` does not answer.

    Applied, such a reload would retire a working consumer for one that only reports an
    outage; None when every one answers (one round trip each).
    """
    for name, done in built.items():
        instance = new.instances[name]
        if name in old and not storage_moved(old[name], instance):
            continue
        if instance.immediate or (name not in running and name in old):
            continue
        try:
            done.huey.pending_count()
        except Exception as exc:
            return (
                f"instance {name}: cannot reach its new storage "
                f"({instance.backend} {safe_target(instance)}): "
                f"{describe_error(exc, secrets_of(instance))}"
            )
    return None
