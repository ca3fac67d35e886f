"""The ``jobrunner`` command line. Exit codes are decided here and nowhere else:

0 success, 1 user or config error, 2 usage error, 3 unexpected error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from jobrunner import __version__
from jobrunner.cli import (
    _dashboard,
    _deadletters,
    _enqueue,
    _events,
    _generate,
    _health,
    _history,
    _list,
    _pause,
    _plan,
    _run,
    _status,
    _validate,
)
from jobrunner.errors import ConfigError, JobRunnerError

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130

# Each command module has add_parser(subparsers) and sets `handler` on its parser.
# Listed in the order `jobrunner --help` shows them: check, run, look, steer, produce.
_COMMANDS: tuple[Any, ...] = (
    _validate,
    _run,
    _dashboard,
    _status,
    _history,
    _events,
    _health,
    _plan,
    _list,
    _pause,
    _deadletters,
    _generate,
    _enqueue,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobrunner",
        description="Declarative job runner on huey: validate and run a jobs.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"jobrunner {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        # argparse would say only "the following arguments are required: COMMAND".
        parser.print_help()
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, bad usage exits 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args.handler(args)
        return code
    except ConfigError as exc:
        print(exc.format(), file=sys.stderr)
        count = exc.count
        print(f"{count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_USER
    except JobRunnerError as exc:
        print(f"jobrunner: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        print(
            "jobrunner: unexpected error (a bug): please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
