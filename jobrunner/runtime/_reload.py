"""Hot reload: apply a newly saved jobs.yaml to a running ``jobrunner run``, all or nothing.

A reload goes through four stages, and only the last one changes anything:

1. **load** the whole file exactly as at start (read, interpolate, validate, import
   every function). Any error rejects the reload: the running configuration stays
   and the errors are logged as ``jobrunner validate`` prints them. Tasks and
   schedules whose YAML did not change keep their objects (``config/_reuse.py``), so
   the next stages find them unchanged at once.
2. **plan**: compare old and new :class:`Config` (``_diff.py``, ``_reload_plan.py``).
   Tasks and schedules change in place on their live huey object; an instance whose
   own settings changed (storage, serializer, consumer...) is rebuilt and its
   consumer replaced, as is an instance with process workers whose tasks changed
   (forked workers never see later registrations).
3. **prepare** the huey objects of rebuilt and added instances, their tasks
   registered and imported (``_reload_plan.py``). A failure here also rejects the
   reload.
4. **apply** (here): swap the registrations (huey's registry is what workers and the
   scheduler read, so that is all a live change takes), hand consumers over, and
   let the :class:`App` adopt the result.

Replacing a consumer never loses work. The old consumer is told to stop and
finishes its running tasks in the background (``_retiring.py``) while the new one
already runs. If the instance's storage moved (another backend, file, URL or
queue name), a *drain* consumer with schedules off keeps consuming the old
storage, with the task definitions it was queued under, until that storage has
been empty for :data:`DRAIN_IDLE` seconds: producers that still hold the old
configuration may enqueue there for a while. Results of drained tasks land in
the old storage, where those producers wait for them.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import huey
from huey.api import TaskWrapper
from huey.consumer import Consumer

from jobrunner import events
from jobrunner._outage import outage_of
from jobrunner.app import gc_paused
from jobrunner.config import Config, InstanceConfig, Loaded, load_config
from jobrunner.errors import ConfigError, Issue, StorageError, format_issues
from jobrunner.factory import (
    register_schedule,
    register_task,
    safe_target,
)
from jobrunner.runtime._diff import Definition, definition_details, storage_moved
from jobrunner.runtime._greenlet import GREENLET, refuse_new_greenlets
from jobrunner.runtime._reload_plan import (
    Built,
    Plan,
    bind,
    build_instance,
    make_plan,
    unreachable,
    warn_orphans,
)
from jobrunner.runtime._retiring import (
    DRAIN_IDLE,
    Retiring,
    leftover_warnings,
    supervise,
    waiting_in,
)

if TYPE_CHECKING:
    from jobrunner.runtime._runner import Runner

log = logging.getLogger("jobrunner")


@dataclass(frozen=True)
class Attempt:
    """A reload's file as read and loaded: the config, or why it is not valid."""

    text: bytes | None
    loaded: Loaded | None
    error: ConfigError | None = None


class Reloader:
    """Applies reloads to a running :class:`Runner`; lives on the Runner's main thread."""

    def __init__(self, runner: Runner, loaded: Loaded | None = None) -> None:
        self.runner = runner
        # The load that is running: the next one rebuilds only what differs from it.
        self._loaded = loaded
        self.generation = 1
        self.retiring: list[Retiring] = []
        self._applied_text = _read_bytes(runner.path)
        self._last_failed = False

    def reload(self, reason: str = "file change") -> bool:
        """Load the file again and apply what changed; return whether it was applied.

        ``reason`` ``"file change"`` skips a file whose bytes are what is running
        (unless the last attempt failed: a missing module may exist now).
        """
        attempt = self.load(reason)
        return attempt is not None and self.finish(attempt)

    def load(self, reason: str = "file change") -> Attempt | None:
        """Stage 1 alone: read and validate the file (None: nothing to reload).

        It changes nothing, so the runner runs it on a thread of its own: however
        long a file takes to load (or a task module to import), signals are still
        handled and the running configuration keeps running.
        """
        path = self.runner.path
        text = _read_bytes(path)
        if text is None and reason == "file change":
            log.warning(
                "%s was removed; the running configuration stays (generation %d)",
                path,
                self.generation,
            )
            return None
        if reason == "file change" and text == self._applied_text and not self._last_failed:
            log.debug("%s: saved without changes", path)
            return None
        importlib.invalidate_caches()  # a module file created since the start must be found
        try:
            with gc_paused():
                loaded = load_config(path, check_imports=True, previous=self._loaded)
            return Attempt(text, loaded)
        except ConfigError as exc:
            return Attempt(text, None, exc)

    def finish(self, attempt: Attempt) -> bool:
        """Stages 2 to 4 of a loaded attempt, on the runner's main thread."""
        path, text, loaded = self.runner.path, attempt.text, attempt.loaded
        try:
            if attempt.error is not None or loaded is None:
                raise attempt.error or ConfigError([])
            plan = self._plan(loaded.config)
            built = self._build(loaded.config, plan)
        except ConfigError as exc:
            self._reject(exc.issues, exc.count)
            return False
        except (_Refused, StorageError) as exc:
            self._last_failed = True
            log.error("reload rejected: %s (generation %d keeps running)", exc, self.generation)
            events.emit(events.RELOAD_REJECTED, generation=self.generation, error=str(exc))
            return False
        for warning in loaded.warnings:
            log.warning("%s", warning.format())
        self._applied_text = text
        self._loaded = loaded
        self._last_failed = False
        if not plan.changes:
            log.info("reloaded %s (generation %d): no changes", path, self.generation)
            return True
        self._apply(loaded, plan, built)
        self.generation += 1
        events.hub().generation = self.generation
        events.emit(
            events.RELOAD_APPLIED,
            generation=self.generation,
            data={"changes": [str(c) for c in plan.changes]},
        )
        log.info(
            "reloaded %s (generation %d): %s",
            path,
            self.generation,
            ", ".join(str(c) for c in plan.changes),
        )
        return True

    def _reject(self, issues: Iterable[Issue], total: int | None = None) -> None:
        self._last_failed = True
        listed = list(issues)
        count = len(listed) if total is None else total
        log.error(
            "reload rejected: %d error%s (generation %d keeps running)\n%s",
            count,
            "" if count == 1 else "s",
            self.generation,
            "\n".join(format_issues(listed, count)),
        )
        events.emit(
            events.RELOAD_REJECTED,
            generation=self.generation,
            error=f"{count} error{'' if count == 1 else 's'}",
            data={"errors": [issue.as_dict() for issue in listed]},
        )

    def _build(self, new: Config, plan: Plan) -> dict[str, Built]:
        added = set(new.instances) - set(self.runner.app_or_fail().config.instances)
        built: dict[str, Built] = {}
        try:
            for name in sorted(plan.rebuild | added):
                built[name] = build_instance(new.instances[name], new)
            old = self.runner.app_or_fail().config.instances
            problem = unreachable(old, new, built, set(self.runner.consumers))
            if problem is not None:
                raise _Refused(problem)
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
        refusal = refuse_new_greenlets(
            name
            for name in plan.rebuild & plan.running_after
            if runner.settings_for(new.instances[name]).worker_type == GREENLET
        )
        if refusal is not None:
            raise _Refused(refusal)
        return plan

    # ------------------------------------------------------------------ apply

    def _apply(self, loaded: Loaded, plan: Plan, built: dict[str, Built]) -> None:
        runner = self.runner
        app = runner.app_or_fail()
        old, new = app.config, loaded.config
        hueys = {
            name: built[name].huey if name in built else app.huey(name) for name in new.instances
        }
        warn_orphans(app, old, new, built, runner.path)
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
            for issue in bind(f"{kind}s", definition, wrappers[name]):
                log.error("%s", issue.format())  # imported in the load stage: should not happen
        for name, before in old.items():
            if before.instance in built or before.instance not in hueys:
                continue  # its instance is rebuilt or removed: the old huey object goes whole
            after = new.get(name)
            if after is None or after.instance != before.instance:
                handles[name].unregister()
        return wrappers

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
        # Its outages are the old storage's, not the live one's (which may share the URL).
        outage_of(consumer.huey).label = f"instance {name}: old storage {retiring.target}"
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
        supervise(self.retiring)

    def leftover_warnings(self) -> None:
        """At the final stop: say what stays in old storages nobody will consume any more."""
        leftover_warnings(self.retiring)


class _Refused(Exception):
    """A reload that validates but cannot be applied (nothing left to run)."""


def _read_bytes(path: str | os.PathLike[str]) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
