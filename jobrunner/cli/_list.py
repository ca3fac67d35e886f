"""``jobrunner list FILE``: the tasks and schedules of a file, each schedule's next run and state.

A schedule's state is ``active``, ``disabled`` (``enabled: false`` in the file) or ``paused``
(``jobrunner pause``, read from the instance's storage; ``unknown`` when it cannot be reached
or ``--no-state`` says not to read it). Listing never creates a storage that does not exist.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

from jobrunner.cli._load import load_quietly
from jobrunner.config import Config, ScheduleConfig
from jobrunner.errors import JobRunnerError, StorageMissingError
from jobrunner.scheduling._describe import describe
from jobrunner.scheduling._plan import next_run, now_utc
from jobrunner.scheduling._state import Pause, ScheduleState
from jobrunner.status import guarded, open_readonly


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list tasks and schedules with their next run and state",
        description="List the tasks and schedules of a jobs.yaml: for each schedule when it "
        "runs, its next run, and whether it is active, disabled in the file or paused (read "
        "from the instance's storage).",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument(
        "--no-state",
        action="store_true",
        help="do not connect to the storages to read paused state",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_quietly(args.file)
    pauses: dict[str, Pause | str | None] = (
        dict.fromkeys(config.schedules, _NOT_READ) if args.no_state else _read_pauses(config)
    )
    rows = [_schedule_row(s, pauses) for s in config.schedules.values()]
    tasks = [
        {"name": t.name, "function": t.function, "instance": t.instance}
        for t in config.tasks.values()
    ]
    if args.format == "json":
        plain = [{k: v for k, v in r.items() if not k.endswith("_text")} for r in rows]
        print(json.dumps({"tasks": tasks, "schedules": plain}, indent=2))
        return 0
    print(f"Tasks ({len(tasks)})")
    _table(
        ["NAME", "FUNCTION", "INSTANCE"],
        [[t["name"], t["function"], t["instance"]] for t in tasks],
    )
    print(f"\nSchedules ({len(rows)})")
    _table(
        ["NAME", "WHEN", "ZONE", "NEXT RUN", "STATE"],
        [
            [r["name"], r["description"], r["timezone"], r["next_text"], r["state_text"]]
            for r in rows
        ],
    )
    return 0


def _read_pauses(config: Config) -> dict[str, Pause | str | None]:
    """Each schedule's pause (None: not paused), or "unknown" where storage cannot be read."""
    found: dict[str, Pause | str | None] = {}
    by_instance: dict[str, list[str]] = {}
    for schedule in config.schedules.values():
        by_instance.setdefault(schedule.instance, []).append(schedule.name)
    for instance_name, names in by_instance.items():
        instance = config.instances[instance_name]
        if instance.immediate or instance.backend == "memory":
            continue  # no storage shared with runners: nothing can be paused there
        try:
            storage = open_readonly(instance).storage
            try:
                paused = guarded(instance, partial(ScheduleState(storage).paused_many, names))
            finally:
                storage.close()
        except StorageMissingError:
            continue  # nothing was ever stored, so nothing is paused
        except JobRunnerError as exc:
            # The message names the instance and its storage (no password).
            print(f"warning: {exc}; paused state unknown", file=sys.stderr)
            found.update(dict.fromkeys(names, "unknown"))
            continue
        found.update({name: paused.get(name) for name in names})
    return found


_NOT_READ = "not read"


def _schedule_row(
    schedule: ScheduleConfig, pauses: dict[str, Pause | str | None]
) -> dict[str, Any]:
    upcoming = next_run(schedule, now_utc())
    pause = pauses.get(schedule.name)
    if not schedule.enabled:
        state, text = "disabled", "disabled (enabled: false)"
    elif isinstance(pause, Pause):
        state = "paused"
        text = f"paused since {pause.since:%Y-%m-%d %H:%M}Z by {pause.by}"
    elif pause == "unknown":
        state, text = "unknown", "unknown (storage unreachable)"
    elif pause == _NOT_READ:
        state, text = "unknown", "unknown (--no-state: not read)"
    else:
        state, text = "active", "active"
    if upcoming is None:
        next_text = "never"
    else:
        next_text = f"{upcoming.local:%Y-%m-%d %H:%M %Z}"
        if upcoming.local.utcoffset():
            next_text += f" ({upcoming.tick:%H:%M} UTC)"
    return {
        "name": schedule.name,
        "cron": str(schedule.cron),
        "description": describe(schedule.cron),
        "timezone": schedule.timezone,
        "instance": schedule.instance,
        "task": schedule.task,
        "function": schedule.function,
        "next_run": None if upcoming is None else upcoming.tick.isoformat(),
        "next_run_local": None if upcoming is None else upcoming.local.isoformat(),
        "state": state,
        "paused_by": pause.by if isinstance(pause, Pause) else None,
        "paused_since": pause.since.isoformat() if isinstance(pause, Pause) else None,
        "next_text": next_text,
        "state_text": text,
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if not rows:
        print("  (none)")
        return
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  " + "  ".join(f"{cell!s:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip()
        )
