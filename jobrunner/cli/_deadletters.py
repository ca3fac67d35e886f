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
from jobrunner.config import Config, InstanceConfig, load_config
from jobrunner.delivery import DeadLetter, Store, secrets_of, short_task_name, store_for
from jobrunner.errors import JobRunnerError, RunnerError, StorageMissingError, UnknownNameError
from jobrunner.factory import SCHEDULE_PREFIX, TASK_PREFIX, make_huey, safe_target
from jobrunner.status import guarded, has_table, open_readonly


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
    looked = _stores(config, args.instance, listing)
    # Only a listing meets a store that does not exist (None): the others create theirs.
    stores = {name: (i, s) for name, (i, s) in looked.items() if s is not None}
    if args.requeue is not None:
        return _requeue(config, stores, args.requeue, args.file)
    if args.purge:
        for name, (instance, store) in stores.items():
            count = _call(instance, store.purge)
            print(f"instance {name}: purged {count} dead letter{'' if count == 1 else 's'}")
        return 0
    found = {
        name: _call(instance, store.dead_letters) if store is not None else []
        for name, (instance, store) in looked.items()
    }
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
    config: Config, only: str | None, listing: bool
) -> dict[str, tuple[InstanceConfig, Store | None]]:
    """Each instance's dead-letter store; None (listing only) where none was created yet."""
    if only is not None and only not in config.instances:
        raise UnknownNameError("instance", only, config.instances)
    stores: dict[str, tuple[InstanceConfig, Store | None]] = {}
    for name, instance in config.instances.items():
        if only is not None and name != only:
            continue
        if instance.immediate or instance.backend == "memory":
            continue
        try:
            store = _look(instance) if listing else _open(instance)
        except StorageMissingError:
            stores[name] = (instance, None)  # never created, so it holds no dead letter
            continue
        if store is None:
            if only is not None:
                raise RunnerError(
                    f"instance {name} ({instance.backend}) keeps no dead letters: only the "
                    "sqlite, redis and postgres backends do"
                )
            continue
        stores[name] = (instance, store)
    if not stores:
        raise RunnerError(
            f"no instance of {config.path} keeps dead letters "
            "(only the sqlite, redis and postgres backends do)"
        )
    return stores


def _open(instance: InstanceConfig) -> Store | None:
    """The store of ``instance`` for a requeue or a purge, its tables created if missing."""
    # A file storage keeps no dead letters, and building it would create its folder.
    if instance.backend == "file":
        return None
    store: Store | None = _call(instance, lambda: store_for(make_huey(instance).storage))
    if store is not None:
        _call(instance, store.setup)
    return store


def _look(instance: InstanceConfig) -> Store | None:
    """The store of ``instance`` for a listing, which creates nothing: raises
    :class:`StorageMissingError` where no consumer created the dead letters' table."""
    if instance.backend == "file":
        return None
    storage = open_readonly(instance).storage
    store = store_for(storage)
    table = getattr(store, "dead", None)  # a SQL table; a Redis key appears when written
    if isinstance(table, str) and not guarded(instance, lambda: has_table(storage, table)):
        raise StorageMissingError(f"instance {instance.name}: no dead letters table yet")
    return store


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
