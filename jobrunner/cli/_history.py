"""``jobrunner history FILE``: past runs from the instances' histories, newest first.

Reads the storages only (creates nothing); ``--format json`` prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from typing import Any

from jobrunner.cli._load import load_quietly
from jobrunner.config import Config
from jobrunner.events import OUTCOMES, STATUSES, Event
from jobrunner.events._query import histories_of, make_query
from jobrunner.status import guarded, open_readonly


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list past runs: when, how long, outcome, attempts, error, consumer",
        description="List past runs from the history each instance keeps in its storage "
        "(events: history), newest first. By default only how runs ended (complete, "
        "error, retrying, ...); --status all lists every event.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument("--instance", metavar="NAME", help="only this instance")
    parser.add_argument("--task", metavar="NAME", help="only runs of this task")
    parser.add_argument("--schedule", metavar="NAME", help="only runs of this schedule")
    parser.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="only events with this status (repeatable; 'all' for every event)",
    )
    parser.add_argument("--since", metavar="TIME", help="from TIME: '1h' ago, or ISO 8601")
    parser.add_argument("--until", metavar="TIME", help="before TIME: '10m' ago, or ISO 8601")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_quietly(args.file)
    statuses: Any = OUTCOMES
    if args.status and "all" not in args.status:
        unknown = sorted(set(args.status) - STATUSES)
        if unknown:
            print(
                f"jobrunner history: error: unknown status {', '.join(unknown)}; "
                f"known: {', '.join(sorted(STATUSES))}",
                file=sys.stderr,
            )
            return 2
        statuses = args.status
    elif args.status:
        statuses = None
    query = make_query(
        task=args.task,
        schedule=args.schedule,
        status=statuses,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    storages = {
        name: open_readonly(instance).storage
        for name, instance in config.instances.items()
        if (args.instance is None or name == args.instance)
        and not instance.immediate
        and instance.events.history
    }
    histories = histories_of(config.instances, storages, args.instance)
    found: list[Event] = []
    for name, history in histories.items():
        found.extend(guarded(config.instances[name], partial(history.query, query)))
    found = sorted(found, key=lambda e: e.ts, reverse=True)[: args.limit]
    if args.format == "json":
        print(json.dumps({"events": [_with_attempt(config, e) for e in found]}, indent=2))
        return 0
    if not histories:
        print("no history yet (no consumer has run with events: history on)", file=sys.stderr)
    _print_table(config, found)
    return 0


def attempt_of(config: Config, event: Event) -> int | None:
    """Which attempt of its run ``event`` is about (1 = the first), when it can be told."""
    if event.data and "attempt" in event.data:
        return int(event.data["attempt"])
    task = config.tasks.get(event.task or "")
    if task is None or event.retries is None:
        return None
    return max(task.options.retries - event.retries + 1, 1)


def _with_attempt(config: Config, event: Event) -> dict[str, Any]:
    values = event.as_dict()
    values.setdefault("attempt", attempt_of(config, event))
    return values


def _print_table(config: Config, events: list[Event]) -> None:
    if not events:
        print("no matching runs")
        return
    header = ("TIME (UTC)", "INSTANCE", "TASK", "STATUS", "TOOK", "ATTEMPT", "CONSUMER")
    rows = []
    for e in events:
        attempt = attempt_of(config, e)
        rows.append(
            (
                e.time.strftime("%Y-%m-%d %H:%M:%S"),
                e.instance or "-",
                e.task or e.schedule or "-",
                e.status,
                f"{e.duration:.3f}s" if e.duration is not None else "-",
                str(attempt) if attempt is not None else "-",
                e.consumer or "-",
                e.error or (str(e.data.get("reason")) if e.data and "reason" in e.data else ""),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)) + "  ERROR")
    for row in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:-1])) + "  " + row[-1])
    print(f"{len(rows)} event{'' if len(rows) == 1 else 's'}")
