"""Reading an instance's storage without creating anything, and failing clearly.

Commands that only look (``status``, ``history``, ``events``, ``list``, the listing of
``dead-letters``) must never create a SQLite file, a queue folder or huey's tables, and
must say in one line, without secrets, when a storage cannot be reached or was never
created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import huey
from huey.storage import BaseStorage, PostgresStorage, SqliteStorage

from jobrunner.config.model import InstanceConfig
from jobrunner.errors import JobRunnerError, StorageError, StorageMissingError

T = TypeVar("T")

_SQL = frozenset({"sqlite", "postgres"})


def open_readonly(instance: InstanceConfig) -> huey.Huey:
    """The huey object of ``instance``, built so that it creates no file and no table.

    Raises :class:`StorageMissingError` when no consumer or producer has created the
    storage yet, :class:`StorageError` when it cannot be opened.
    """
    from jobrunner.factory import make_huey, safe_target

    _require_local(instance)
    if instance.backend in _SQL:
        storage = MappingProxyType({**instance.storage, "create_tables": False})
        instance = replace(instance, storage=storage)
    try:
        built = make_huey(instance)
    except Exception as exc:
        raise StorageError(
            f"instance {instance.name}: cannot open its storage {safe_target(instance)} "
            f"({describe(instance, exc)})"
        ) from None
    table = _queue_table(built.storage)
    if table is not None and not guarded(instance, lambda: has_table(built.storage, table)):
        raise StorageMissingError(
            f"instance {instance.name}: {safe_target(instance)} has no {table} table "
            "(no consumer or producer has used it yet)"
        )
    return built


def _require_local(instance: InstanceConfig) -> None:
    """A SQLite file or queue folder that does not exist: opening it would create it."""
    key = {"sqlite": "filename", "file": "path"}.get(instance.backend)
    if key is None:
        return
    where = str(instance.storage.get(key))
    if where != ":memory:" and not Path(where).exists():
        raise StorageMissingError(
            f"instance {instance.name}: {where} does not exist "
            "(no consumer or producer has used it yet)"
        )


def _queue_table(storage: BaseStorage) -> str | None:
    if isinstance(storage, PostgresStorage):
        return str(storage.table_task)
    if isinstance(storage, SqliteStorage):
        return "task"
    return None


def has_table(storage: BaseStorage, name: str) -> bool:
    """Whether the SQL ``storage`` holds table ``name`` (other storages have none to miss)."""
    if isinstance(storage, PostgresStorage):
        rows = storage.sql("select to_regclass(%s)", (name,), results=True)
        return rows[0][0] is not None
    if isinstance(storage, SqliteStorage):
        rows = storage.sql(
            "select 1 from sqlite_master where type = 'table' and name = ?", (name,), results=True
        )
        return bool(rows)
    return True


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
    """``Type: message`` of ``exc`` on one line (libpq's runs over several, its hint
    included) with the instance's secrets masked."""
    from jobrunner._outage import describe_error
    from jobrunner.delivery import secrets_of

    return describe_error(exc, secrets_of(instance))
