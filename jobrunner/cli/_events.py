"""``jobrunner events FILE``: follow the live event stream (Ctrl-C stops).

Redis pub/sub where an instance publishes (``events: {redis: ...}``), elsewhere its
history as it grows. ``--format json`` prints each event as one JSON object per line
(JSON Lines: a stream has no end to close a single document with).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from jobrunner.cli._load import load_quietly
from jobrunner.events import Event
from jobrunner.events._follow import follow, sources_of
from jobrunner.status import open_readonly


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "events",
        help="follow the live event stream (like tail -f)",
        description="Print events as they happen: Redis pub/sub where an instance "
        "publishes them, elsewhere its history as it grows. Ctrl-C stops.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument("--instance", metavar="NAME", help="only this instance")
    parser.add_argument("--task", metavar="NAME", help="only events of this task")
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop after SECONDS (default: never)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (json: JSON Lines)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_quietly(args.file)

    def open_huey(name: str) -> Any:
        return open_readonly(config.instances[name])

    sources = sources_of(config, open_huey, args.instance)
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt  # a second signal: at once
        stopping.set()

    # A KeyboardInterrupt raised in the middle of a read could leave a connection's lock
    # held, and closing the sources would then wait for it forever: the first signal
    # stops the loop between two polls (a quarter of a second at most), then the
    # sources close as usual, then it is an interruption as Ctrl-C always is.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"following {len(sources)} instance(s); Ctrl-C stops", file=sys.stderr, flush=True)
        for event in follow(sources, task=args.task, timeout=args.timeout, stop=stopping.is_set):
            print(event.to_json() if args.format == "json" else format_event(event), flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping.is_set():
        raise KeyboardInterrupt
    return 0


def format_event(event: Event) -> str:
    """One line: time, instance, status, task or schedule, id, and what matters for it."""
    parts = [
        event.time.strftime("%H:%M:%S.%f")[:-3],
        event.instance or "-",
        event.status.ljust(11),
        event.task or event.schedule or "-",
    ]
    if event.id:
        parts.append(event.id[:8])
    if event.tick:
        parts.append(f"tick {event.tick}")
    if event.duration is not None:
        parts.append(f"{event.duration:.3f}s")
    if event.error:
        parts.append(event.error)
    if event.data:
        parts.extend(
            f"{k}={v}" for k, v in event.data.items() if k in ("attempt", "delay", "reason", "lag")
        )
    return "  ".join(parts)
