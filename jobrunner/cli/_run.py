"""``jobrunner run FILE``: run the consumers of every instance (or the chosen ones)."""

from __future__ import annotations

import argparse
from typing import Any

from jobrunner._logs import configure_logging
from jobrunner.config import LoggingConfig
from jobrunner.runtime import Runner, RunOptions


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the consumers and schedules of a jobs.yaml",
        description="Start one huey consumer per instance. SIGINT or SIGTERM stops them "
        "gracefully (running tasks finish); a second signal interrupts the tasks. Saving FILE "
        "(or SIGHUP) reloads it live unless --no-reload is given (docs/reload.md).",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml to run")
    parser.add_argument(
        "--instance",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this instance (repeatable)",
    )
    parser.add_argument(
        "-w",
        "--workers",
        type=_positive,
        metavar="N",
        help="workers per instance (overrides the file)",
    )
    parser.add_argument(
        "-k",
        "--worker-type",
        choices=("thread", "process", "greenlet"),
        help="worker type (overrides the file)",
    )
    parser.add_argument(
        "-n",
        "--no-periodic",
        action="store_true",
        help="do not fire schedules (run queued tasks only)",
    )
    parser.add_argument(
        "--no-reload",
        action="store_true",
        help="do not watch FILE for changes; SIGHUP then restarts the process instead",
    )
    parser.add_argument(
        "--reload-poll",
        type=_positive_seconds,
        metavar="SECONDS",
        help="notice changes by polling every SECONDS (for NFS and other file systems "
        "without change events)",
    )
    parser.add_argument(
        "--http",
        metavar="ADDR",
        help="serve /metrics, /healthz and /readyz on ADDR (HOST:PORT; :0 picks a free port); "
        "overrides http.listen of FILE",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="log level (default: the file's logging.level, else info)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="text lines, or one JSON object per line (default: the file's logging.format, "
        "else text)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_format or "text", args.log_level or "info")

    def from_file(settings: LoggingConfig) -> None:
        # The command line wins over the file's `logging:`.
        configure_logging(args.log_format or settings.format, args.log_level or settings.level)

    options = RunOptions(
        configure_logging=from_file,
        instances=tuple(args.instance),
        workers=args.workers,
        worker_type=args.worker_type,
        periodic=False if args.no_periodic else None,
        reload=not args.no_reload,
        reload_poll=args.reload_poll,
        http=args.http,
    )
    return Runner(args.file, options).run()


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
