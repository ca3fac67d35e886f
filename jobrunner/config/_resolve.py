"""Turn a schema-valid document into frozen config objects, with the checks a schema cannot do.

Checks here: crons parse (with huey's own parser), time zones exist, references
to tasks and instances resolve. Each definition is resolved on its own, so one
broken task does not hide the errors of the next.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobrunner.config import _hooks
from jobrunner.config._checks import check_zone, close_match, location
from jobrunner.config._cron_check import parse_cron
from jobrunner.config._duration import parse_duration
from jobrunner.config._http import resolve_http
from jobrunner.config._instance import resolve_instance
from jobrunner.config._limits import quote
from jobrunner.config._reuse import Reuse, Unchanged, context_of, relocated
from jobrunner.config._yaml import Document
from jobrunner.config.model import (
    Config,
    HandlesConfig,
    InstanceConfig,
    LoggingConfig,
    ScheduleConfig,
    TaskConfig,
    TaskOptions,
)
from jobrunner.errors import Issue

_TASK_OPTION_KEYS = frozenset(TaskOptions.__dataclass_fields__)
_DURATION_OPTIONS = frozenset({"retry_delay", "expires", "timeout"})


def resolve(
    doc: Document, path: Path, found: Unchanged | None = None
) -> tuple[Config | None, list[Issue], Reuse]:
    """The typed config of ``doc``, the issues found (no config when any is an error), and
    what the next load of the file may reuse. ``found``: definitions taken over as they are.
    """
    data: Mapping[str, Any] = doc.data
    found = found or Unchanged()
    reuse = Reuse(path, context_of(data))
    # Where the reused definitions stand now, looked up section by section.
    moved = {
        section: doc.key_positions((section,)) if getattr(found, section) else {}
        for section in ("tasks", "schedules")
    }
    issues: list[Issue] = []
    folder = path.resolve().parent
    file_zone: str | None = data.get("timezone")
    if file_zone is not None:
        check_zone(file_zone, ("timezone",), doc, issues)
    # A section of the wrong type (`tasks: [..]`) is the schema's error to report; here
    # it counts as empty, so the other sections are still checked.
    defaults = _guard(_options, _section(data, "defaults"), TaskOptions()) or TaskOptions()

    raw_instances = _section(data, "instances") or {"default": {"backend": "sqlite"}}
    instances: dict[str, InstanceConfig] = {}
    for name, raw in raw_instances.items():
        instance = _guard(resolve_instance, name, raw, doc, folder, path, issues)
        if instance is not None:
            instances[name] = instance

    tasks: dict[str, TaskConfig] = {}
    for name, raw in _section(data, "tasks").items():
        before = len(issues)
        if name in found.tasks:
            task = relocated(found.tasks[name], doc.file, *moved["tasks"][name])
        else:
            task = _guard(_task, name, raw, doc, defaults, raw_instances, issues)
        if task is not None:
            tasks[name] = task
            if len(issues) == before:
                reuse.tasks[name] = (raw, task)

    schedules: dict[str, ScheduleConfig] = {}
    raw_tasks = _section(data, "tasks")
    for name, raw in _section(data, "schedules").items():
        before = len(issues)
        if name in found.schedules:
            schedule = relocated(found.schedules[name], doc.file, *moved["schedules"][name])
        else:
            schedule = _guard(
                _schedule,
                name,
                raw,
                doc,
                defaults,
                raw_instances,
                instances,
                tasks,
                raw_tasks,
                file_zone,
                issues,
            )
        if schedule is not None:
            schedules[name] = schedule
            if len(issues) == before:
                reuse.schedules[name] = (raw, schedule)

    http = resolve_http(doc, issues)

    if any(issue.severity == "error" for issue in issues):
        return None, issues, reuse
    config = Config(
        path=path,
        instances=MappingProxyType(instances),
        tasks=MappingProxyType(tasks),
        schedules=MappingProxyType(schedules),
        defaults=defaults,
        timezone=file_zone or "UTC",
        http=http,
        handles=_handles(_section(data, "handles"), folder),
        setup=_hooks.setup_callbacks(doc),
        logging=LoggingConfig(**_section(data, "logging")),
    )
    return config, issues, reuse


def _handles(raw: Mapping[str, Any], folder: Path) -> HandlesConfig:
    output = raw.get("output")
    return HandlesConfig(output=folder / output if isinstance(output, str) else None)


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _guard(build: Any, *args: Any) -> Any:
    # A value the schema already rejected can make resolving raise; the schema's
    # issue is the one the user sees, so the definition is just skipped here.
    try:
        return build(*args)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _options(raw: Mapping[str, Any], base: TaskOptions) -> TaskOptions:
    keys = _TASK_OPTION_KEYS & raw.keys()
    if not keys:
        return base
    # Definitions that say the same options share one frozen object: ten thousand tasks
    # spell a handful of combinations. The type is in the key, lest `1` stand for `true`.
    given = tuple(sorted((key, type(raw[key]), raw[key]) for key in keys))
    try:
        return _shared_options(base, given)
    except TypeError:  # an unhashable value (a `lock:` mapping): not shared
        return _build_options(base, given)


def _build_options(base: TaskOptions, given: tuple[tuple[str, type, Any], ...]) -> TaskOptions:
    values = {}
    for key, _, value in given:
        if key in _DURATION_OPTIONS and value is not None:
            value = parse_duration(value)
        elif key in _hooks.CONVERTERS:
            value = _hooks.CONVERTERS[key](value)
        values[key] = value
    return TaskOptions(**{**base.__dict__, **values})


_shared_options = functools.lru_cache(maxsize=4096)(_build_options)


def _pick_instance(
    explicit: str | None,
    where: tuple[str, ...],
    doc: Document,
    raw_instances: Mapping[str, Any],
    issues: list[Issue],
) -> str | None:
    known = list(raw_instances)
    if explicit is not None:
        if explicit not in raw_instances:
            issues.append(_unknown(doc, (*where, "instance"), "instance", explicit, known, issues))
            return None
        return explicit
    if len(known) == 1:
        return known[0]
    issues.append(
        doc.issue(
            where,
            f"several instances are defined ({', '.join(known)}); name one",
            f"add `instance: {known[0]}` (or another) to this definition",
            key=True,
        )
    )
    return None


def _task(
    name: str,
    raw: Mapping[str, Any],
    doc: Document,
    defaults: TaskOptions,
    raw_instances: Mapping[str, Any],
    issues: list[Issue],
) -> TaskConfig | None:
    where = ("tasks", name)
    instance = _pick_instance(raw.get("instance"), where, doc, raw_instances, issues)
    options = _options(raw, defaults)
    if instance is None:
        return None
    _hooks.check_options(doc, where, options, _backend(raw_instances, instance), issues)
    return TaskConfig(name, raw["function"], instance, options, location(doc, where))


def _schedule(
    name: str,
    raw: Mapping[str, Any],
    doc: Document,
    defaults: TaskOptions,
    raw_instances: Mapping[str, Any],
    instances: Mapping[str, InstanceConfig],
    tasks: Mapping[str, TaskConfig],
    raw_tasks: Mapping[str, Any],
    file_zone: str | None,
    issues: list[Issue],
) -> ScheduleConfig | None:
    where = ("schedules", name)
    # Every check runs before any early return, so all of a schedule's errors show at once.
    cron = parse_cron(raw["cron"], (*where, "cron"), doc, issues) if "cron" in raw else None
    zone = raw.get("timezone")
    if zone is not None:
        check_zone(zone, (*where, "timezone"), doc, issues)
    task_name = raw.get("task")
    function: str | None = raw.get("function")
    instance: str | None
    base = defaults
    if task_name is not None:
        if task_name not in raw_tasks:
            issues.append(
                _unknown(doc, (*where, "task"), "task", task_name, list(raw_tasks), issues)
            )
            return None
        task = tasks.get(task_name)
        if task is None:
            return None  # The task itself is broken and reported already.
        function, instance, base = task.function, task.instance, task.options
        if raw.get("instance", instance) != instance:
            issues.append(
                doc.issue(
                    (*where, "instance"),
                    f"instance {quote(raw['instance'])} differs from the instance {instance!r} "
                    f"of task {quote(task_name)}",
                    "a schedule that names a task runs on that task's instance; remove this key",
                    key=True,
                )
            )
            return None
    else:
        instance = _pick_instance(raw.get("instance"), where, doc, raw_instances, issues)
    if zone is None and instance is not None and instance in instances:
        owner = instances[instance]
        # The schedule runs on its instance's clock unless a zone is named.
        zone = owner.timezone or file_zone or ("UTC" if owner.utc else "local")
    if cron is None or instance is None or function is None or zone is None:
        return None
    jitter = raw.get("jitter")
    window = raw.get("catchup_window")
    options = _options(raw, base)
    _hooks.check_options(doc, where, options, _backend(raw_instances, instance), issues)
    return ScheduleConfig(
        name=name,
        function=function,
        instance=instance,
        cron=cron,
        timezone=zone,
        options=options,
        location=location(doc, where),
        task=task_name,
        args=tuple(raw.get("args", ())),
        kwargs=MappingProxyType(dict(raw.get("kwargs", {}))),
        enabled=raw.get("enabled", True),
        overlap=raw.get("overlap", "allow"),
        catchup=raw.get("catchup", "none"),
        catchup_window=parse_duration(window) if window is not None else None,
        jitter=parse_duration(jitter) if jitter is not None else 0.0,
    )


def _backend(raw_instances: Mapping[str, Any], instance: str) -> str | None:
    raw = raw_instances.get(instance)
    return raw.get("backend", "sqlite") if isinstance(raw, Mapping) else None


def _unknown(
    doc: Document,
    where: tuple[str, ...],
    kind: str,
    name: str,
    known: list[str],
    issues: list[Issue],
) -> Issue:
    close = close_match(name, known, issues)
    listed = ", ".join(known[:10]) + (f", ... ({len(known)} in all)" if len(known) > 10 else "")
    hint = f"did you mean {close!r}?" if close else f"defined {kind}s: {listed or 'none'}"
    return doc.issue(where, f"unknown {kind} {quote(name)}", hint)
