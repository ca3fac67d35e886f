"""Reading an instance's storage without creating anything, and failing clearly.

Commands that only look (``status``, ``history``, ``events``) must never create a
SQLite file or huey's tables, and must say in one line, without secrets, when a
storage cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import huey

from jobrunner.config.model import InstanceConfig
from jobrunner.errors import JobRunnerError, StorageError

T = TypeVar("T")

_SQL = frozenset({"sqlite", "postgres"})


def open_readonly(instance: InstanceConfig) -> huey.Huey:
    """The huey object of ``instance``, built so that it creates no file and no table."""
    from jobrunner.factory import make_huey, safe_target

    if instance.backend == "sqlite":
        filename = str(instance.storage.get("filename"))
        if filename != ":memory:" and not Path(filename).exists():
            raise StorageError(
                f"instance {instance.name}: {filename} does not exist "
                "(no consumer or producer has used it yet)"
            )
    if instance.backend in _SQL:
        storage = MappingProxyType({**instance.storage, "create_tables": False})
        instance = replace(instance, storage=storage)
    try:
        return make_huey(instance)
    except Exception as exc:
        raise StorageError(
            f"instance {instance.name}: cannot open its storage {safe_target(instance)} "
            f"({describe(instance, exc)})"
        ) from None


def guarded(instance: InstanceConfig, action: Callable[[], T]) -> T:
    """``action()``, with a storage failure turned into a :class:`StorageError`."""
    from jobrunner.factory import safe_target

    try:
        return action()
    except JobRunnerError:
        raise
    except Exception as exc:
        raise StorageError(
            f"instance {instance.name}: cannot reach its storage {safe_target(instance)} "
            f"({describe(instance, exc)})"
        ) from None


def describe(instance: InstanceConfig, exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (first line) with the instance's secrets masked."""
    from jobrunner.delivery import secrets_of

    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    for secret in secrets_of(instance):
        text = text.replace(secret, "***")
    return text
