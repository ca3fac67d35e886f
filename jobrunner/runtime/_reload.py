"""Hot reload: apply a newly saved jobs.yaml to a running ``jobrunner run``, all or nothing.

A reload goes through four stages, and only the last one changes anything:

1. **load** the whole file exactly as at start (read, interpolate, validate, import
   every function). Any error rejects the reload: the running configuration stays
   and the errors are logged as ``jobrunner validate`` prints them.
2. **plan**: compare old and new :class:`Config` (:func:`diff_configs`). Tasks and
   schedules change in place on their live huey object; an instance whose own
   settings changed (storage, serializer, consumer...) is rebuilt and its consumer
   replaced, as is an instance with process workers whose tasks changed (forked
   workers never see later registrations).
3. **prepare** the huey objects of rebuilt and added instances, their tasks
   registered and imported. A failure here also rejects the reload.
4. **apply**: swap the registrations (huey's registry is what workers and the
   scheduler read, so that is all a live change takes), hand consumers over, and
   let the :class:`App` adopt the result.

Replacing a consumer never loses work. The old consumer is told to stop and
finishes its running tasks in the background while the new one already runs.
If the instance's storage moved (another backend, file, URL or queue name), a
*drain* consumer with schedules off keeps consuming the old storage, with the
task definitions it was queued under, until that storage has been empty for
:data:`DRAIN_IDLE` seconds: producers that still hold the old configuration may
enqueue there for a while. Results of drained tasks land in the old storage,
where those producers wait for them.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any

import huey
from huey.api import TaskWrapper
from huey.consumer import Consumer

from jobrunner.build import (
    SCHEDULE_PREFIX,
    TASK_PREFIX,
    make_huey,
    register_schedule,
    register_task,
    safe_target,
)
from jobrunner.config import Config, InstanceConfig, Loaded, ScheduleConfig, TaskConfig, load_config
from jobrunner.config._imports import explain_import_error
from jobrunner.errors import ConfigError, Issue
from jobrunner.scheduling import Cron

if TYPE_CHECKING:
    from jobrunner.runtime._runner import Runner

log = logging.getLogger("jobrunner")

DRAIN_IDLE = 10.0
"""Seconds an old storage must stay empty before its drain consumer stops."""

Definition = TaskConfig | ScheduleConfig


# --------------------------------------------------------------------------- diff


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
    return sorted(changes, key=lambda c: (_OP_ORDER[c.op], _KIND_ORDER[c.kind], c.name))


def definition_details(old: Definition, new: Definition) -> list[str]:
    """``field old->new`` for each field of a task or schedule that differs."""
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


def _plain(value: Any) -> Any:
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
    if isinstance(value, Mapping | tuple | list):
        return repr(_plain(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


# --------------------------------------------------------------------------- plan


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
    changes.sort(key=lambda c: (_OP_ORDER[c.op], _KIND_ORDER[c.kind], c.name))
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
    issues = []
    for name, task in config.tasks.items():
        if task.instance == instance.name:
            built.tasks[name] = register_task(built.huey, task)
            issues += _bind("tasks", task, built.tasks[name])
    for name, schedule in config.schedules.items():
        if schedule.instance == instance.name:
            built.schedules[name] = register_schedule(built.huey, schedule)
            issues += _bind("schedules", schedule, built.schedules[name])
    if issues:
        raise ConfigError(issues)
    return built


def _bind(section: str, definition: Definition, wrapper: TaskWrapper) -> list[Issue]:
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


# --------------------------------------------------------------------------- retiring consumers


@dataclass
class Retiring:
    """A consumer being let go: stopping after its running tasks, or draining an old storage."""

    instance: str
    consumer: Consumer
    config: InstanceConfig  # the instance's definition when the consumer was let go
    drain: bool = False
    stopper: threading.Thread | None = None
    idle_since: float | None = None

    def begin_stop(self) -> None:
        """Stop in the background: the consumer's running tasks finish first."""
        if self.stopper is None:
            self.stopper = threading.Thread(
                target=self.consumer.stop,
                kwargs={"graceful": True},
                name=f"retire-{self.instance}",
                daemon=True,
            )
            self.stopper.start()

    @property
    def target(self) -> str:
        """Where its storage is, for log lines."""
        return f"{self.config.backend} {safe_target(self.config)}"

    @property
    def stopped(self) -> bool:
        return self.stopper is not None and not self.stopper.is_alive()


def waiting_in(app_huey: huey.Huey) -> tuple[int, int]:
    """(queued, scheduled) message counts of a huey's storage."""
    return app_huey.pending_count(), app_huey.scheduled_count()


# --------------------------------------------------------------------------- the reloader


class Reloader:
    """Applies reloads to a running :class:`Runner`; lives on the Runner's main thread."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.generation = 1
        self.retiring: list[Retiring] = []
        self._applied_text = _read_bytes(runner.path)
        self._last_failed = False

    def reload(self, reason: str = "file change") -> bool:
        """Load the file again and apply what changed; return whether it was applied.

        ``reason`` ``"file change"`` skips a file whose bytes are what is running
        (unless the last attempt failed: a missing module may exist now).
        """
        runner = self.runner
        path = runner.path
        text = _read_bytes(path)
        if text is None and reason == "file change":
            log.warning(
                "%s was removed; the running configuration stays (generation %d)",
                path,
                self.generation,
            )
            return False
        if reason == "file change" and text == self._applied_text and not self._last_failed:
            log.debug("%s: saved without changes", path)
            return False
        try:
            importlib.invalidate_caches()  # a module file created since the start must be found
            loaded = load_config(path, check_imports=True)
            plan = self._plan(loaded.config)
            built = self._build(loaded.config, plan)
        except ConfigError as exc:
            self._reject(exc.issues)
            return False
        except _Refused as exc:
            self._last_failed = True
            log.error("reload rejected: %s (generation %d keeps running)", exc, self.generation)
            return False
        for warning in loaded.warnings:
            log.warning("%s", warning.format())
        self._applied_text = text
        self._last_failed = False
        if not plan.changes:
            log.info("reloaded %s (generation %d): no changes", path, self.generation)
            return True
        self._apply(loaded, plan, built)
        self.generation += 1
        log.info(
            "reloaded %s (generation %d): %s",
            path,
            self.generation,
            ", ".join(str(c) for c in plan.changes),
        )
        return True

    def _reject(self, issues: Iterable[Issue]) -> None:
        self._last_failed = True
        listed = list(issues)
        count = len(listed)
        log.error(
            "reload rejected: %d error%s (generation %d keeps running)\n%s",
            count,
            "" if count == 1 else "s",
            self.generation,
            "\n".join(issue.format() for issue in listed),
        )

    def _build(self, new: Config, plan: Plan) -> dict[str, Built]:
        added = set(new.instances) - set(self.runner.app_or_fail().config.instances)
        built: dict[str, Built] = {}
        try:
            for name in sorted(plan.rebuild | added):
                built[name] = build_instance(new.instances[name], new)
        except BaseException:
            for done in built.values():
                done.huey.storage.close()
            raise
        return built

    def _plan(self, new: Config) -> Plan:
        runner = self.runner
        app = runner.app_or_fail()
        plan = make_plan(app.config, new, set(runner.consumers), runner.options.instances, runner)
        if not plan.running_after:
            raise _Refused(
                "no instance left to run (every selected instance is removed or in immediate mode)"
            )
        return plan

    # ------------------------------------------------------------------ apply

    def _apply(self, loaded: Loaded, plan: Plan, built: dict[str, Built]) -> None:
        runner = self.runner
        app = runner.app_or_fail()
        old, new = app.config, loaded.config
        hueys = {
            name: built[name].huey if name in built else app.huey(name) for name in new.instances
        }
        self._warn_orphans(old, new, built)
        tasks = self._apply_definitions(
            "task", old.tasks, new.tasks, app.tasks, hueys, built, register_task
        )
        schedules = self._apply_definitions(
            "schedule", old.schedules, new.schedules, app.schedules, hueys, built, register_schedule
        )
        self._hand_over(old, new, plan, hueys)
        app.adopt(new, hueys, tasks, schedules)

    def _apply_definitions(
        self,
        kind: str,
        old: Mapping[str, Definition],
        new: Mapping[str, Definition],
        handles: Mapping[str, TaskWrapper],
        hueys: Mapping[str, huey.Huey],
        built: Mapping[str, Built],
        register: Callable[..., TaskWrapper],
    ) -> dict[str, TaskWrapper]:
        wrappers: dict[str, TaskWrapper] = {}
        for name, definition in new.items():
            if definition.instance in built:
                rebuilt = built[definition.instance]
                wrappers[name] = (rebuilt.tasks if kind == "task" else rebuilt.schedules)[name]
                continue
            before = old.get(name)
            same_place = before is not None and before.instance == definition.instance
            if same_place and before is not None and not definition_details(before, definition):
                wrappers[name] = handles[name]  # untouched: a schedule keeps its timing
                continue
            wrappers[name] = register(hueys[definition.instance], definition, replace=same_place)
            for issue in _bind(f"{kind}s", definition, wrappers[name]):
                log.error("%s", issue.format())  # imported in the load stage: should not happen
        for name, before in old.items():
            if before.instance in built or before.instance not in hueys:
                continue  # its instance is rebuilt or removed: the old huey object goes whole
            after = new.get(name)
            if after is None or after.instance != before.instance:
                handles[name].unregister()
        return wrappers

    def _warn_orphans(self, old: Config, new: Config, built: Mapping[str, Built]) -> None:
        """Warn about queued messages of tasks and schedules leaving an instance that stays."""
        app = self.runner.app_or_fail()
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
                        self.runner.path,
                        kind,
                    )

    def _hand_over(
        self, old: Config, new: Config, plan: Plan, hueys: Mapping[str, huey.Huey]
    ) -> None:
        runner = self.runner
        started: list[Consumer] = []
        for name in sorted(plan.running_before - plan.running_after):
            consumer = runner.consumers.pop(name)
            self._retire(name, consumer, old.instances[name], drain=False, started=started)
            try:
                queued, scheduled = waiting_in(consumer.huey)
            except Exception:
                queued = scheduled = 0  # cannot tell: nothing to warn about with certainty
            if queued or scheduled:
                instance = old.instances[name]
                log.warning(
                    "instance %s no longer runs here: %d queued and %d scheduled task(s) stay in "
                    "its storage (%s %s) and run when a consumer of it runs again",
                    name,
                    queued,
                    scheduled,
                    instance.backend,
                    safe_target(instance),
                )
        for name in sorted(plan.running_after):
            instance = new.instances[name]
            if name in runner.consumers and name not in plan.rebuild:
                continue
            previous = runner.consumers.pop(name, None)
            if previous is not None:
                moved = storage_moved(old.instances[name], instance)
                settings = runner.settings_for(instance)
                if settings.flush_locks and not moved:
                    # The new consumer flushes the locks at start: the old one must not hold any.
                    previous.stop(graceful=True)
                self._retire(name, previous, old.instances[name], drain=moved, started=started)
            for retiring in self.retiring:
                if (
                    retiring.drain
                    and retiring.instance == name
                    and not storage_moved(retiring.config, instance)
                ):
                    # Back on a storage still being drained: the new consumer takes it over,
                    # and the drain (running older definitions) must not compete with it.
                    retiring.begin_stop()
            consumer = runner.make_instance_consumer(name, instance, hueys[name])
            runner.consumers[name] = consumer
            consumer.start()
            started.append(consumer)
        # Consumer.start() installed huey's handlers; the Runner's must be the ones in place,
        # and a signal that huey's handler caught in between is passed on to them.
        runner._install_signal_handlers()
        for consumer in started:
            if consumer._signum is not None:
                runner._on_signal(consumer._signum, None)

    def _retire(
        self,
        name: str,
        consumer: Consumer,
        instance: InstanceConfig,
        *,
        drain: bool,
        started: list[Consumer],
    ) -> None:
        retiring = Retiring(name, consumer, instance)
        retiring.begin_stop()
        self.retiring.append(retiring)
        if not drain:
            return
        drainer = self.runner.make_instance_consumer(name, instance, consumer.huey, drain=True)
        drainer.start()
        started.append(drainer)
        self.retiring.append(Retiring(name, drainer, instance, drain=True))
        target = retiring.target
        try:
            queued, scheduled = waiting_in(consumer.huey)
        except Exception:
            queued = scheduled = -1
        log.info(
            "instance %s: its storage moved; still consuming the old one (%s: %s queued, "
            "%s scheduled) until it stays empty for %gs",
            name,
            target,
            queued if queued >= 0 else "?",
            scheduled if scheduled >= 0 else "?",
            DRAIN_IDLE,
        )

    # ------------------------------------------------------------------ supervision

    def tick(self) -> None:
        """Called by the Runner's loop: stop drained consumers, forget stopped ones."""
        now = time.monotonic()
        for retiring in list(self.retiring):
            if retiring.stopped:
                self.retiring.remove(retiring)
                if retiring.drain:
                    log.info(
                        "instance %s: old storage %s drained; no longer consumed",
                        retiring.instance,
                        retiring.target,
                    )
                else:
                    log.debug("instance %s: previous consumer stopped", retiring.instance)
                continue
            if not retiring.drain or retiring.stopper is not None:
                continue
            try:
                queued, scheduled = waiting_in(retiring.consumer.huey)
            except Exception as exc:
                log.warning(
                    "instance %s: cannot read the old storage %s: %s",
                    retiring.instance,
                    retiring.target,
                    exc,
                )
                continue
            if queued or scheduled:
                retiring.idle_since = None
            elif retiring.idle_since is None:
                retiring.idle_since = now
            elif now - retiring.idle_since >= DRAIN_IDLE:
                retiring.begin_stop()

    def leftover_warnings(self) -> None:
        """At the final stop: say what stays in old storages nobody will consume any more."""
        for retiring in self.retiring:
            if not retiring.drain:
                continue
            try:
                queued, scheduled = waiting_in(retiring.consumer.huey)
            except Exception:
                continue
            if queued or scheduled:
                log.warning(
                    "instance %s: %d queued and %d scheduled task(s) are left in its old storage "
                    "%s, which the current jobs.yaml no longer names; run a consumer on it "
                    "to run them",
                    retiring.instance,
                    queued,
                    scheduled,
                    retiring.target,
                )


class _Refused(Exception):
    """A reload that validates but cannot be applied (nothing left to run)."""


def _read_bytes(path: str | os.PathLike[str]) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
