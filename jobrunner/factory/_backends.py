"""One huey object per instance: the right ``*Huey`` class and keyword arguments per backend."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import huey
import huey.storage

from jobrunner import _revoke_flags
from jobrunner._forksafe import track_sql_storage
from jobrunner.batch import BatchTaskWrapper
from jobrunner.config._connections import mask_url
from jobrunner.config._imports import import_object
from jobrunner.config.model import InstanceConfig
from jobrunner.errors import StorageError
from jobrunner.factory._enqueue_time import (
    StampedSerializer,
    StampedSignedSerializer,
    stamped_class,
)
from jobrunner.factory._lock_ttl import PostgresLockTTL, RedisLockTTL, SqliteLockTTL
from jobrunner.factory._own_connection import OwnConnectionThreads
from jobrunner.factory._pg_stuck import PostgresFreshAfterLostSend
from jobrunner.factory._redis_wait import RedisResultWait

# huey's classes, each stamping its messages with their enqueue time (_enqueue_time.py).
_CLASSES: dict[str, type[huey.Huey]] = {
    "sqlite": stamped_class(huey.SqliteHuey),
    "redis": stamped_class(huey.RedisHuey),
    "redis-expire": stamped_class(huey.RedisExpireHuey),
    "priority-redis": stamped_class(huey.PriorityRedisHuey),
    "postgres": stamped_class(huey.PostgresHuey),
    "file": stamped_class(huey.FileHuey),
    "memory": stamped_class(huey.MemoryHuey),
    "custom": stamped_class(huey.Huey),
}
_REDIS = frozenset({"redis", "redis-expire", "priority-redis"})
# Pages between SQLite checkpoints once a storage failed (SQLite's default: 1,000).
TIGHT_DISK_CHECKPOINT = 100
# The advisory lock key that serialises jobrunner's and huey's table creation on PostgreSQL.
SCHEMA_LOCK = "jobrunner:schema"
# First wait of a producer polling for a result; huey's is 50 ms (docs/performance.md).
RESULT_POLL_START = 0.001


class _QuickResultPoll:
    """A blocking ``Result.get()`` that polls from 1 ms on, not huey's 50 ms.

    SQL storages cannot wake a waiting producer, so huey polls for the result with
    a first sleep of 50 ms: no round trip took less than 50 ms. The same backoff
    from 1 ms answers a fast task in about a millisecond and still settles at
    ``max_delay`` for a slow one. A poll is a primary-key lookup.
    """

    has_data_for_key: Callable[[str], bool]  # huey's storage, next in the MRO

    def wait_result(
        self, key: str, timeout: float | None = None, backoff: float = 1.15, max_delay: float = 1.0
    ) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = RESULT_POLL_START
        while True:
            if self.has_data_for_key(key):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(min(delay, max_delay))
            delay *= backoff


class _DeferredRevokeClear:
    """Hands huey's clear of a finished task's revoke flag to the delivery worker.

    The worker sends it with its next take, one round trip or transaction fewer
    per task (``jobrunner/_revoke_flags.py`` says when a clear is deferred).
    """

    def delete_data(self, key: str) -> Any:
        if _revoke_flags.defer(key):
            return False  # huey ignores the answer where a clear is deferred
        return super().delete_data(key)  # type: ignore[misc]

    def enqueue(self, data: bytes, priority: float | None = None) -> Any:
        # A retry (same task id) must not find the flag its run left set. Inline, not
        # flush_revoke_clears(): this is every enqueue's path.
        if _revoke_flags.pending():
            _revoke_flags.flush(super().delete_data)  # type: ignore[misc]
        return super().enqueue(data, priority)  # type: ignore[misc]

    def flush_revoke_clears(self) -> None:
        """Send the deferred clears now, as :meth:`enqueue` does: before a bulk enqueue
        (``jobrunner/batch/``)."""
        if _revoke_flags.pending():
            _revoke_flags.flush(super().delete_data)  # type: ignore[misc]


class RedisStorage(
    RedisLockTTL,
    RedisResultWait,
    _DeferredRevokeClear,
    huey.storage.RedisStorage,  # type: ignore[misc]
):
    """huey's Redis storage; the revoke flag is cleared with the next take."""


class PriorityRedisStorage(
    RedisLockTTL,
    RedisResultWait,
    _DeferredRevokeClear,
    huey.storage.PriorityRedisStorage,  # type: ignore[misc]
):
    """huey's priority Redis storage; the revoke flag is cleared with the next take."""


class RedisExpireStorage(RedisResultWait, huey.storage.RedisExpireStorage):  # type: ignore[misc]
    """huey's Redis storage whose results expire; waits for a result as the others do."""


class SqliteStorage(
    SqliteLockTTL,
    _DeferredRevokeClear,
    _QuickResultPoll,
    huey.storage.SqliteStorage,  # type: ignore[misc]
):
    """huey's SQLite storage with two defaults of jobrunner's (docs/performance.md).

    Results are polled from 1 ms on (:class:`_QuickResultPoll`). In WAL mode,
    commits do not fsync (``synchronous=NORMAL``) unless ``fsync: true``. huey
    leaves SQLite's FULL, one fsync per commit: one or two per task (the dequeue,
    and the result when there is one), most of a drain's time. With NORMAL a committed
    task survives a crash of any process; a power cut or an OS crash can roll back
    the last commits but never corrupts the file (SQLite's documentation on WAL).
    A delivery worker clears a finished task's revoke flag in the transaction of
    its next take (:class:`_DeferredRevokeClear`).
    """

    def __init__(self, *args: Any, fsync: bool | None = None, **kwargs: Any) -> None:
        # `fsync: false` is NORMAL here, not huey's OFF (which can corrupt the file on a
        # power cut): only true reaches huey.
        super().__init__(*args, fsync=True if fsync else None, **kwargs)

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        if self._fsync is None and (self._journal_mode or "").lower() == "wal":
            conn.execute("pragma synchronous=1")
        return conn

    def relieve(self) -> None:
        """After a full disk: copy the write-ahead log into the database and truncate it.

        SQLite checkpoints only once the log holds 1,000 pages (4 MB). On a disk that
        filled up first, the log takes all the space freed later, writes keep failing
        and the runner never recovers. Called once per backoff step of an outage; it
        succeeds once the disk has room for the log's pages in the database file.
        """
        with self.lock:
            # A disk this tight: checkpoint every 100 pages (400 KB) from now on, or the log
            # regrows into the space just freed (on this connection, only after an outage).
            self.conn.execute(f"pragma wal_autocheckpoint={TIGHT_DISK_CHECKPOINT}")
            self.conn.execute("pragma wal_checkpoint(TRUNCATE)")


class PostgresStorage(
    OwnConnectionThreads,
    PostgresFreshAfterLostSend,
    PostgresLockTTL,
    _DeferredRevokeClear,
    _QuickResultPoll,
    huey.storage.PostgresStorage,  # type: ignore[misc]
):
    """huey's PostgreSQL storage, with results polled from 1 ms on (:class:`_QuickResultPoll`).

    The revoke flag is cleared with the next take (:class:`_DeferredRevokeClear`). A
    connection left mid-command by a lost send is replaced (:mod:`._pg_stuck`). The
    scheduler thread has a connection of its own (:mod:`._own_connection`).

    Its tables are created under a transaction-scoped advisory lock: PostgreSQL's
    ``create table if not exists`` is not safe against itself, and runners started
    together on a fresh database (a Deployment's replicas) raced into
    ``UniqueViolation ... (typname)=(huey_kv)``. A server unreachable when the
    storage is made leaves the tables to the first connection that succeeds, so a
    runner starts (and reports the outage) instead of failing.
    """

    _schema_pending = False

    def initialize_schema(self) -> None:
        try:
            conn = self._connect()
        except huey.storage.psycopg.OperationalError:
            self._schema_pending = True
            return
        try:
            self._create_schema(conn)
        finally:
            conn.close()  # as huey's: the storage's own connection is made where it is used

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        if self._schema_pending:
            self._create_schema(conn)
            self._schema_pending = False
        return conn

    def _create_schema(self, conn: Any) -> None:
        with conn.transaction(), conn.cursor() as curs:
            curs.execute("select pg_advisory_xact_lock(hashtext(%s))", (SCHEMA_LOCK,))
            for statement in self.ddl:
                curs.execute(statement)


# Storage classes that replace huey's own for a backend (subclasses: isinstance holds).
_STORAGE_CLASSES: dict[str, type[huey.storage.BaseStorage]] = {
    "redis": RedisStorage,
    "priority-redis": PriorityRedisStorage,
    "redis-expire": RedisExpireStorage,
    "sqlite": SqliteStorage,
    "postgres": PostgresStorage,
}


def make_huey(instance: InstanceConfig, *, immediate: bool = False) -> huey.Huey:
    """A huey object for ``instance``; ``immediate`` forces eager mode (JOBRUNNER_IMMEDIATE)."""
    kwargs: dict[str, Any] = {
        "name": instance.queue_name,
        "results": instance.results,
        "store_none": instance.store_none,
        "utc": instance.utc,
        "immediate": immediate or instance.immediate,
    }
    if instance.serializer.secret:
        kwargs["serializer"] = StampedSignedSerializer(
            secret=instance.serializer.secret,
            salt=instance.serializer.salt,
            compression=instance.compression,
        )
    else:
        kwargs["serializer"] = StampedSerializer(compression=instance.compression)
    storage = dict(instance.storage)
    if instance.backend in _REDIS:
        # Wake Result.get(blocking=True) on a push instead of polling: ~1 ms
        # instead of ~50 ms round trips (docs/performance.md).
        storage.setdefault("notify_result", True)
    if instance.backend in _STORAGE_CLASSES:
        kwargs["storage_class"] = _STORAGE_CLASSES[instance.backend]
    if instance.backend == "custom":
        storage_class = import_object(instance.storage_class or "")
        built = _CLASSES["custom"](storage_class=storage_class, **kwargs, **storage)
    elif instance.backend == "sqlite":
        try:
            built = _CLASSES[instance.backend](**kwargs, **storage)
        except sqlite3.OperationalError as exc:
            raise StorageError(
                f"instance {instance.name}: cannot open its SQLite database "
                f"{storage.get('filename')}: {exc} (its folder must exist and be writable, "
                "with free disk space)"
            ) from None
    else:
        built = _CLASSES[instance.backend](**kwargs, **storage)
    if isinstance(built.storage, huey.storage.BaseSqlStorage):
        track_sql_storage(built.storage)
    # Handles whose .map() enqueues in batches (jobrunner/batch/).
    built.task_wrapper_class = BatchTaskWrapper
    return built


def safe_target(instance: InstanceConfig) -> str:
    """Where ``instance`` stores its data, fit for a log line (no password)."""
    storage = instance.storage
    if instance.backend in _REDIS:
        if "url" in storage:
            return mask_url(str(storage["url"]))
        host = storage.get("host", "127.0.0.1")
        return f"redis://{host}:{storage.get('port', 6379)}/{storage.get('db', 0)}"
    if instance.backend == "postgres":
        dsn = str(storage.get("dsn", ""))
        return mask_url(dsn).strip() or "libpq defaults"
    if instance.backend == "sqlite":
        return str(storage.get("filename"))
    if instance.backend == "file":
        return str(storage.get("path"))
    if instance.backend == "custom":
        return str(instance.storage_class)
    return instance.backend
