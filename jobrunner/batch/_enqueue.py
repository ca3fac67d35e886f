"""Enqueue many tasks with one round trip (or one transaction) per batch, each exactly once.

Each task stays its own message with its own id, serialized (and signed) as huey does it, with
its priority and eta; only the write to storage is shared. A batch is written together with a
marker key named after the batch, in one atomic step: a Lua script on Redis, one transaction on
SQLite and PostgreSQL. Writing the same batch again finds the marker and writes nothing, so a
batch whose answer was lost (the connection dropped after the server applied it) is sent again
safely, by redis-py's own retry or by this module's, and a caller learns for certain whether it
was enqueued. Markers are deleted after :data:`MARKER_TTL` seconds.

Storages without such a step (file, memory, custom) get one ``storage.enqueue`` per task.
"""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Sequence
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

import huey
from huey import signals as S
from huey.api import Task
from huey.storage import (
    BaseStorage,
    PostgresStorage,
    RedisPriorityQueue,
    RedisStorage,
    SqliteStorage,
)

from jobrunner.batch._kv import native
from jobrunner.errors import BulkEnqueueError

#: Tasks per round trip (or transaction) when the caller does not say.
BATCH_SIZE = 500
#: Seconds a batch marker is kept: how long a lost answer can still be resolved by a resend.
MARKER_TTL = 3600
MARKER_PREFIX = "jobrunner:batch:"
#: Rows per SQLite insert statement: a SQLite before 3.32 takes at most 999 parameters.
SQLITE_ROWS = 250

# KEYS: queue, marker. ARGV: marker ttl, then the messages in enqueue order.
_LIST_SCRIPT = r"""
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 1000 do
  redis.call('LPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
"""

# KEYS: queue, marker. ARGV: marker ttl, then score, member pairs.
_ZSET_SCRIPT = r"""
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 1000 do
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
"""


def batchable(storage: BaseStorage) -> bool:
    """Whether ``storage`` writes a batch in one atomic step (else one enqueue per task)."""
    return native(storage) and isinstance(storage, RedisStorage | SqliteStorage | PostgresStorage)


def enqueue_many(
    app_huey: huey.Huey, tasks: Sequence[Task], batch_size: int = BATCH_SIZE
) -> list[Any]:
    """Enqueue ``tasks`` in order; their results (as ``huey.enqueue`` returns them), in order.

    Raises :class:`~jobrunner.errors.BulkEnqueueError` when a batch cannot be written: the
    tasks before it are enqueued, that batch and the ones after it are not (its
    ``enqueued`` count and ``pending`` tasks say which).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    if app_huey.immediate or not batchable(app_huey.storage):
        return _one_by_one(app_huey, tasks)
    flush = getattr(app_huey.storage, "flush_revoke_clears", None)
    if flush is not None:
        flush()  # a task body calling .map(): see jobrunner/_revoke_flags.py
    results: list[Any] = []
    for start in range(0, len(tasks), batch_size):
        chunk = tasks[start : start + batch_size]
        try:
            messages = _prepare(app_huey, chunk)
            _write(app_huey.storage, messages)
        except _Unresolved as unknown:
            cause = unknown.__cause__ or unknown
            raise BulkEnqueueError(
                len(results), len(tasks), results, tasks[start:], cause, uncertain=len(chunk)
            ) from cause
        except Exception as exc:
            raise BulkEnqueueError(len(results), len(tasks), results, tasks[start:], exc) from exc
        if app_huey.results:
            results.extend(_result_of(app_huey, task) for task in chunk)
        else:
            results.extend(None for _ in chunk)
    return results


def _one_by_one(app_huey: huey.Huey, tasks: Sequence[Task]) -> list[Any]:
    results: list[Any] = []
    for index, task in enumerate(tasks):
        try:
            results.append(app_huey.enqueue(task))
        except Exception as exc:
            raise BulkEnqueueError(index, len(tasks), results, tasks[index:], exc) from exc
    return results


def _prepare(app_huey: huey.Huey, tasks: Sequence[Task]) -> list[tuple[bytes, float]]:
    """What ``huey.enqueue`` does before its storage write: expiry, signal, serialization."""
    receivers = app_huey._signal.receivers
    listened = bool(receivers.get(S.SIGNAL_ENQUEUED) or receivers.get("any"))
    for task in tasks:
        if task.expires:
            task.resolve_expires(app_huey.utc)
        if listened:  # a signal nobody listens to costs a tenth of a batched task
            app_huey._emit(S.SIGNAL_ENQUEUED, task)
    many = getattr(app_huey, "serialize_tasks", None)  # jobrunner's huey classes have it
    datas = many(tasks) if many else [app_huey.serialize_task(task) for task in tasks]
    return [(data, float(task.priority or 0)) for data, task in zip(datas, tasks, strict=True)]


def _result_of(app_huey: huey.Huey, task: Task) -> Any:
    if task.on_complete is None:  # the usual case, without building a list per task
        return huey.api.Result(app_huey, task)
    results = app_huey._pipeline_results(task)
    return huey.api.ResultGroup(results) if len(results) > 1 else results[0]


def _write(storage: BaseStorage, messages: list[tuple[bytes, float]]) -> None:
    """Write one batch and its marker atomically; sent a second time after a lost connection."""
    marker = f"{MARKER_PREFIX}{int(time.time()):012d}:{uuid.uuid4().hex}"
    try:
        _write_once(storage, marker, messages)
    except _RETRYABLE:
        # The first attempt may or may not have been applied: the marker decides.
        try:
            _write_once(storage, marker, messages)
        except _RETRYABLE as again:
            raise _Unresolved from again


class _Unresolved(Exception):
    """A batch was sent twice and neither attempt got an answer: its fate is unknown."""


def _write_once(storage: BaseStorage, marker: str, messages: list[tuple[bytes, float]]) -> None:
    if isinstance(storage, RedisStorage):
        _write_redis(storage, marker, messages)
    elif isinstance(storage, PostgresStorage):
        _write_postgres(storage, marker, messages)
    elif isinstance(storage, SqliteStorage):
        _write_sqlite(storage, marker, messages)


def _write_redis(storage: RedisStorage, marker: str, messages: list[tuple[bytes, float]]) -> None:
    marker_key = f"huey.batch.{storage.name}.{marker[len(MARKER_PREFIX) :]}"
    if isinstance(storage, RedisPriorityQueue):
        args: list[Any] = [MARKER_TTL]
        stamp = int(time.time() * 1e6)
        for offset, (data, priority) in enumerate(messages):
            # huey's member: a microsecond prefix keeps equal priorities in order.
            args.extend((-priority, struct.pack(">Q", stamp + offset) + data))
        script = _ZSET_SCRIPT
    else:
        if any(priority for _, priority in messages):
            raise NotImplementedError("Task priorities are not supported by this storage.")
        args = [MARKER_TTL, *(data for data, _ in messages)]
        script = _LIST_SCRIPT
    _script(storage, script)(keys=[storage.queue_key, marker_key], args=args)


def _write_postgres(
    storage: PostgresStorage, marker: str, messages: list[tuple[bytes, float]]
) -> None:
    with storage.db(commit=True) as curs:
        if not _claim_marker(curs, storage.table_kv, storage.name, marker, "%s"):
            return
        curs.execute(
            f"insert into {storage.table_task} (queue, data, priority) "
            "select %s, d, p from unnest(%b::bytea[], %b::float8[]) with ordinality "
            "as t(d, p, n) order by n",
            (storage.name, [d for d, _ in messages], [p for _, p in messages]),
        )
        curs.execute("select pg_notify(%s, %s)", (storage.channel, ""))


def _write_sqlite(storage: SqliteStorage, marker: str, messages: list[tuple[bytes, float]]) -> None:
    with storage.db(commit=True) as curs:
        if not _claim_marker(curs, "kv", storage.name, marker, "?"):
            return
        # Consecutive messages of one priority share a statement of many rows, with the queue
        # and the priority bound once: twice as fast as executemany's statement per row.
        for priority, run in groupby(messages, key=itemgetter(1)):
            datas = [data for data, _ in run]
            for start in range(0, len(datas), SQLITE_ROWS):
                part = datas[start : start + SQLITE_ROWS]
                curs.execute(_sqlite_insert(len(part)), (storage.name, priority, *part))


@lru_cache(maxsize=32)
def _sqlite_insert(rows: int) -> str:
    values = ", ".join(f"(?1, ?{n}, ?2)" for n in range(3, rows + 3))
    return f"insert into task (queue, data, priority) values {values}"


def _claim_marker(curs: Any, table: str, queue: str, marker: str, ph: str) -> bool:
    """Insert the batch marker in the open transaction; False when the batch is written already.

    Markers older than :data:`MARKER_TTL` go in the same transaction: their keys sort by age.
    """
    cutoff = f"{MARKER_PREFIX}{int(time.time()) - MARKER_TTL:012d}"
    curs.execute(
        f"delete from {table} where queue = {ph} and key > {ph} and key < {ph}",
        (queue, MARKER_PREFIX, cutoff),
    )
    curs.execute(
        f"insert into {table} (queue, key, value) values ({ph}, {ph}, {ph}) on conflict do nothing",
        (queue, marker, b"1"),
    )
    return bool(curs.rowcount == 1)


def _script(storage: RedisStorage, source: str) -> Any:
    cache: dict[str, Any] = storage.__dict__.setdefault("_jobrunner_scripts", {})
    if source not in cache:
        cache[source] = storage.conn.register_script(source)
    return cache[source]


def _retryable() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import redis

        found += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency of huey's Redis storage
        pass
    try:
        import psycopg

        found.append(psycopg.OperationalError)
    except ImportError:
        pass
    return tuple(found)


_RETRYABLE = _retryable()
