"""``jobrunner dead-letters FILE [--requeue ID | --purge]``: list and handle dead letters.

A dead letter is a message a consumer took but could not run (bad signature,
not deserializable, task unknown to that consumer); it is kept in the instance's
storage with the reason. This command never deserializes a message: it shows
what the consumer recorded, and requeues the raw bytes as they were.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from jobrunner._outage import describe_error
from jobrunner.cli._load import storage_exists
from jobrunner.config import Config, InstanceConfig, load_config
from jobrunner.delivery import DeadLetter, Store, secrets_of, short_task_name, store_for
from jobrunner.errors import JobRunnerError, RunnerError, UnknownNameError
from jobrunner.factory import SCHEDULE_PREFIX, TASK_PREFIX, make_huey, safe_target


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dead-letters",
        help="list, requeue or purge the messages no consumer could run",
        description="List the dead letters of every instance (id, task, reason, time): "
        "messages with a bad signature, that cannot be deserialized, or whose task the "
        "consumer did not know. --requeue puts one back on its queue (once the task "
        "exists again); --purge deletes them.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml of the instances")
    parser.add_argument("--instance", metavar="NAME", help="only this instance")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--requeue", type=int, metavar="ID", help="put dead letter ID back on its queue"
    )
    action.add_argument("--purge", action="store_true", help="delete the dead letters")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format of the list"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.file, check_imports=False).config
    listing = args.requeue is None and not args.purge
    # A listing must not create a storage that does not exist: it holds no dead letter.
    absent = {
        name
        for name, instance in config.instances.items()
        if listing and instance.backend == "sqlite" and not storage_exists(instance)
    }
    stores = _stores(config, args.instance, absent)
    if args.requeue is not None:
        return _requeue(config, stores, args.requeue, args.file)
    if args.purge:
        for name, (instance, store) in stores.items():
            count = _call(instance, store.purge)
            print(f"instance {name}: purged {count} dead letter{'' if count == 1 else 's'}")
        return 0
    found = {
        name: _call(instance, store.dead_letters) for name, (instance, store) in stores.items()
    }
    found.update((name, []) for name in sorted(absent) if args.instance in (None, name))
    if args.format == "json":
        print(
            json.dumps(
                {name: [_as_dict(d) for d in letters] for name, letters in found.items()}, indent=2
            )
        )
    else:
        _print_table(found)
    return 0


def _stores(
    config: Config, only: str | None, absent: set[str]
) -> dict[str, tuple[InstanceConfig, Store]]:
    if only is not None and only not in config.instances:
        raise UnknownNameError("instance", only, config.instances)
    stores: dict[str, tuple[InstanceConfig, Store]] = {}
    for name, instance in config.instances.items():
        if only is not None and name != only:
            continue
        if instance.immediate or instance.backend == "memory" or name in absent:
            continue
        # Building a PostgreSQL or SQLite huey connects (it creates huey's tables); a file
        # storage, which keeps no dead letters, would create its folder.
        store = None
        if instance.backend != "file":
            store = _call(
                instance, lambda instance=instance: store_for(make_huey(instance).storage)
            )
        if store is None:
            if only is not None:
                raise RunnerError(
                    f"instance {name} ({instance.backend}) keeps no dead letters: only the "
                    "sqlite, redis and postgres backends do"
                )
            continue
        _call(instance, store.setup)
        stores[name] = (instance, store)
    if not stores and not absent:
        raise RunnerError(
            f"no instance of {config.path} keeps dead letters "
            "(only the sqlite, redis and postgres backends do)"
        )
    return stores


def _call(instance: InstanceConfig, action: Any) -> Any:
    """``action()``, with a storage failure turned into a clear error without secrets."""
    try:
        return action()
    except JobRunnerError:
        raise
    except Exception as exc:
        text = describe_error(exc, secrets_of(instance))
        raise RunnerError(
            f"instance {instance.name}: cannot reach its storage {safe_target(instance)} ({text})"
        ) from None


def _requeue(
    config: Config, stores: dict[str, tuple[InstanceConfig, Store]], id: int, file: str
) -> int:
    holders = [
        name
        for name, (instance, store) in stores.items()
        if any(d.id == id for d in _call(instance, store.dead_letters))
    ]
    if not holders:
        raise RunnerError(
            f"no dead letter {id} in {', '.join(stores)}; list them with "
            f"`jobrunner dead-letters {file}`"
        )
    if len(holders) > 1:
        raise RunnerError(
            f"dead letter {id} exists in instances {', '.join(holders)}; "
            "choose one with --instance NAME"
        )
    name = holders[0]
    instance, store = stores[name]
    letter = _call(instance, lambda: store.requeue(id))
    if letter is None:  # requeued or purged by someone else in the meantime
        raise RunnerError(f"dead letter {id} of instance {name} is gone")
    print(f"instance {name}: requeued dead letter {id} (task {short_task_name(letter.task)})")
    warning = _requeue_warning(config, letter)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _requeue_warning(config: Config, letter: DeadLetter) -> str | None:
    if letter.task is None:
        return (
            f"dead letter {letter.id} was refused for: {letter.reason}; unless that changed "
            "(e.g. the secret), the consumer will dead-letter it again"
        )
    for prefix, known, kind in (
        (TASK_PREFIX, config.tasks, "task"),
        (SCHEDULE_PREFIX, config.schedules, "schedule"),
    ):
        if letter.task.startswith(prefix + "."):
            key = letter.task.removeprefix(prefix + ".")
            if key not in known:
                return (
                    f"{kind} {key} is not in {config.path}: a consumer that does not know it "
                    "will dead-letter the message again"
                )
    return None


def _time(value: float) -> str:
    return datetime.datetime.fromtimestamp(value).astimezone().isoformat(timespec="seconds")


def _as_dict(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "task": letter.task,
        "reason": letter.reason,
        "time": _time(letter.time),
        "consumer": letter.consumer,
        "size": len(letter.data),
    }


def _print_table(found: dict[str, list[DeadLetter]]) -> None:
    rows = [
        (name, str(d.id), short_task_name(d.task), _time(d.time), d.reason)
        for name, letters in found.items()
        for d in letters
    ]
    if not rows:
        print(f"no dead letters ({', '.join(found)})")
        return
    header = ("INSTANCE", "ID", "TASK", "TIME", "REASON")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    print(f"{len(rows)} dead letter{'' if len(rows) == 1 else 's'}")
