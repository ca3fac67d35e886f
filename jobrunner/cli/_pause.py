"""``jobrunner pause FILE NAME...`` and ``jobrunner resume FILE NAME...``.

The pause flag lives in the schedule's instance storage, so it applies to every runner sharing
that storage, at once, and survives restarts and reloads of the runners.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jobrunner._outage import describe_error
from jobrunner.cli._load import load_quietly
from jobrunner.config import Config
from jobrunner.config.model import InstanceConfig
from jobrunner.delivery import secrets_of
from jobrunner.errors import JobRunnerError, UnknownNameError
from jobrunner.factory import make_huey, safe_target
from jobrunner.scheduling._state import ScheduleState


def add_parser(subparsers: Any) -> None:
    pause = subparsers.add_parser(
        "pause",
        help="pause schedules in every runner until resumed",
        description="Stop firing the named schedules. The flag is kept in the schedule's "
        "instance storage: every runner sharing it skips the schedule's ticks (and logs each "
        "skip), also after restarts, until `jobrunner resume`. Runs already queued still run.",
    )
    resume = subparsers.add_parser(
        "resume",
        help="resume paused schedules",
        description="Fire the named schedules again from their next tick. Ticks that passed "
        "while paused are not caught up.",
    )
    for parser, handler in ((pause, run_pause), (resume, run_resume)):
        parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
        parser.add_argument("names", nargs="+", metavar="NAME", help="a schedule name")
        parser.set_defaults(handler=handler)


def run_pause(args: argparse.Namespace) -> int:
    config = load_quietly(args.file)
    for name in _schedules(config, args.names):
        instance = config.instances[config.schedules[name].instance]
        with open_state(instance) as state:
            if state.pause(name):
                print(
                    f"paused {name} (instance {instance.name}, {safe_target(instance)}): runners "
                    f"skip its ticks until `jobrunner resume {args.file} {name}`"
                )
            else:
                pause = state.paused(name)
                since = f" since {pause.since:%Y-%m-%d %H:%M:%SZ} by {pause.by}" if pause else ""
                print(f"{name} was already paused{since}")
    return 0


def run_resume(args: argparse.Namespace) -> int:
    config = load_quietly(args.file)
    for name in _schedules(config, args.names):
        instance = config.instances[config.schedules[name].instance]
        with open_state(instance) as state:
            if state.resume(name):
                print(f"resumed {name}: it fires again from its next tick")
            else:
                print(f"{name} was not paused")
    return 0


def _schedules(config: Config, names: list[str]) -> list[str]:
    """``names`` checked against the file's schedules, before anything is changed."""
    for name in names:
        if name not in config.schedules:
            raise UnknownNameError("schedule", name, config.schedules)
    return list(dict.fromkeys(names))


@contextmanager
def open_state(instance: InstanceConfig) -> Iterator[ScheduleState]:
    """The schedule state in ``instance``'s storage (closed afterwards).

    Raises :class:`JobRunnerError` for instances whose storage no runner shares.
    """
    if instance.immediate:
        raise JobRunnerError(
            f"instance {instance.name!r} is in immediate mode: its schedules never fire in a "
            "runner, so there is nothing to pause or resume"
        )
    if instance.backend == "memory":
        raise JobRunnerError(
            f"instance {instance.name!r} uses memory storage, which lives inside each runner "
            "process: a pause cannot reach it (use sqlite, redis or postgres to share state)"
        )
    app_huey = make_huey(instance)
    try:
        yield ScheduleState(app_huey.storage)
    except Exception as exc:
        if isinstance(exc, JobRunnerError):
            raise
        raise JobRunnerError(
            f"cannot reach the storage of instance {instance.name!r} "
            f"({safe_target(instance)}): {describe_error(exc, secrets_of(instance))}"
        ) from exc
    finally:
        app_huey.storage.close()
