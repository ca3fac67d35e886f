"""``jobrunner enqueue FILE TASK [ARG...]`` and ``jobrunner trigger FILE SCHEDULE``.

Both print the message's id; ``enqueue --wait`` also the result, or the error (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from jobrunner.app import App, load
from jobrunner.config._duration import parse_duration
from jobrunner.errors import JobRunnerError, UnknownNameError
from jobrunner.handles._arguments import check_arguments, parse_args, parse_kwargs, show
from jobrunner.handles._control import Sent, send, trigger

DEFAULT_WAIT = 60.0


def add_parser(subparsers: Any) -> None:
    enqueue = subparsers.add_parser(
        "enqueue",
        help="enqueue a task; print its id (and its result with --wait)",
        description="Enqueue TASK with ARGs, each read as a JSON or YAML value (5 is a number, "
        "eu a string, '[1, 2]' a list). The arguments are checked against the task "
        "function's signature first when its module imports here. Prints the task id.",
    )
    enqueue.add_argument("file", metavar="FILE", help="the jobs.yaml")
    enqueue.add_argument("task", metavar="TASK", help="a task name")
    enqueue.add_argument("args", nargs="*", metavar="ARG", help="a positional argument")
    enqueue.add_argument(
        "--kwargs", metavar="JSON", help='keyword arguments as an object: \'{"region": "eu"}\''
    )
    when = enqueue.add_mutually_exclusive_group()
    when.add_argument("--delay", type=_duration, metavar="DURATION", help="run after 5m, 30s...")
    when.add_argument(
        "--eta",
        type=_moment,
        metavar="ISO",
        help="run at this ISO 8601 time (without an offset: local time)",
    )
    trigger_parser = subparsers.add_parser(
        "trigger",
        help="run a schedule's task now, once",
        description="Enqueue SCHEDULE's task now with its configured arguments, once. Its "
        "ticks are not touched: the next tick fires as it would have. Paused or disabled "
        "schedules are triggered too. Prints the run's id (huey keeps no results of "
        "periodic tasks: the runner's log shows the run).",
    )
    trigger_parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    trigger_parser.add_argument("schedule", metavar="SCHEDULE", help="a schedule name")
    enqueue.add_argument(
        "--wait",
        nargs="?",
        const=DEFAULT_WAIT,
        type=_duration,
        metavar="SECONDS",
        help=f"wait for the result (up to {DEFAULT_WAIT:.0f}s, or SECONDS) and print it; "
        "exit 1 if the task failed or the time ran out",
    )
    enqueue.set_defaults(handler=run_enqueue)
    trigger_parser.set_defaults(handler=run_trigger)


def run_enqueue(args: argparse.Namespace) -> int:
    app = load(args.file)
    task = app.config.tasks.get(args.task)
    if task is None:
        raise UnknownNameError("task", args.task, app.config.tasks)
    values, kwargs = parse_args(args.args), parse_kwargs(args.kwargs)
    if args.wait is not None and not app.config.instances[task.instance].results:
        raise JobRunnerError(
            f"--wait: instance {task.instance!r} stores no results (results: false), so there "
            "is nothing to wait for; nothing was enqueued"
        )
    note = check_arguments(task.name, task.function, values, kwargs)
    if note:
        print(f"note: {note}", file=sys.stderr)
    try:
        sent = send(app.tasks[task.name], values, kwargs, eta=args.eta, delay=args.delay)
    except Exception as exc:
        raise _unreachable(app, task.instance, exc) from exc
    return _report(sent, args.wait, f"task {task.name}")


def run_trigger(args: argparse.Namespace) -> int:
    app = load(args.file)
    schedule = app.config.schedules.get(args.schedule)
    if schedule is None:
        raise UnknownNameError("schedule", args.schedule, app.config.schedules)
    try:
        sent = trigger(app, schedule.name)
    except Exception as exc:
        raise _unreachable(app, schedule.instance, exc) from exc
    print(sent.id)
    return 0


def _report(sent: Sent, wait: float | None, what: str) -> int:
    print(sent.id, flush=True)
    if wait is None:
        return 0
    from huey.exceptions import ResultTimeout, TaskException

    try:
        value = sent.result.get(blocking=True, timeout=wait)
    except ResultTimeout:
        raise JobRunnerError(
            f"{what} ({sent.id}): no result within {wait:g}s; it is still queued or running"
        ) from None
    except TaskException as exc:
        error = exc.metadata.get("error") or str(exc)
        raise JobRunnerError(f"{what} ({sent.id}) failed: {error}") from None
    print(show(value))
    return 0


def _unreachable(app: App, instance: str, exc: Exception) -> JobRunnerError:
    from jobrunner.factory import safe_target

    target = safe_target(app.config.instances[instance])
    return JobRunnerError(f"cannot enqueue on instance {instance!r} ({target}): {exc}")


def _duration(text: str) -> float:
    try:
        return parse_duration(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-01T09:30 or "
            "2026-12-01T09:30:00+01:00"
        ) from None
