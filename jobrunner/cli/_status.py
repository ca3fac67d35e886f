"""``jobrunner status FILE``: is it working? One screen per config.

Exit 0 whenever every storage answers (even with no live consumer), 1 when one
cannot be reached. ``--format json`` prints the snapshot as one JSON document.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from jobrunner.cli._load import load_quietly
from jobrunner.events import Event
from jobrunner.status import InstanceStatus, ScheduleStatus, Status, snapshot


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show queues, consumers, in-flight tasks and schedules at a glance",
        description="Per instance: backend and target, queue depth, scheduled tasks, "
        "in-flight tasks by consumer, live consumers, dead letters, last event; per "
        "schedule: last fire and its outcome, next fire, paused. Needs no consumer running.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument("--instance", metavar="NAME", help="only this instance")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    status = snapshot(load_quietly(args.file), args.instance)
    if args.format == "json":
        print(json.dumps(status.as_dict(), indent=2))
    else:
        print(format_status(status))
    return 0


def format_status(status: Status) -> str:
    now = status.taken_at
    lines: list[str] = []
    for inst in status.instances:
        lines.extend(_instance_lines(inst, now))
        lines.append("")
    if status.schedules:
        lines.append("schedules:")
        lines.extend(_schedule_line(s, now) for s in status.schedules)
    return "\n".join(lines).rstrip()


def _instance_lines(inst: InstanceStatus, now: datetime) -> list[str]:
    live = [c for c in inst.consumers if c.live]
    dead = "-" if inst.dead_letters is None else str(inst.dead_letters)
    lines = [
        f"instance {inst.name}: {inst.backend} {inst.target}",
        f"  queued {inst.queue_depth}, scheduled {inst.scheduled}, "
        f"in flight {sum(f.count for f in inst.in_flight)}, dead letters {dead}",
        f"  consumers: {len(live)} live"
        + ("" if inst.history else " (unknown: history off for this instance)"),
    ]
    for c in inst.consumers:
        state = "live" if c.live else "silent"
        lines.append(
            f"    {c.id}  {c.workers} {c.worker_type} worker(s), pid {c.pid} on {c.host}, "
            f"heartbeat {_ago(c.heartbeat, now)} ({state})"
        )
    for f in inst.in_flight:
        lease = f"lease ends in {_until(f.lease_expires, now)}" if f.lease_expires else "no lease"
        lines.append(f"  in flight: {f.count} task(s) held by {f.consumer}, {lease}")
    lines.append(f"  last event: {_event(inst.last_event, now)}")
    return lines


def _schedule_line(s: ScheduleStatus, now: datetime) -> str:
    state = "paused" + (f" by {s.paused_by}" if s.paused_by else "") if s.paused else "active"
    if not s.enabled:
        state = "disabled"
    fired = _event(s.last_fire, now) if s.last_fire else "never (in the history)"
    outcome = f", last run {s.last_outcome.status}" if s.last_outcome else ""
    next_fire = s.next_fire.strftime("%Y-%m-%d %H:%M:%SZ") if s.next_fire else "never"
    return f"  {s.name} ({s.instance}, {state}): last {fired}{outcome}; next {next_fire}"


def _event(event: Event | None, now: datetime) -> str:
    if event is None:
        return "none"
    what = event.task or event.schedule or event.consumer or ""
    return f"{event.status} {what} {_ago(event.time, now)}".replace("  ", " ")


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max((now - moment.astimezone(UTC)).total_seconds(), 0.0)
    return f"{_span(seconds)} ago"


def _until(moment: datetime, now: datetime) -> str:
    return _span(max((moment - now).total_seconds(), 0.0))


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"
