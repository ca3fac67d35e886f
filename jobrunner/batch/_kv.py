"""huey's key/value operations for many keys at once: one round trip (or transaction) per call.

huey's storage API reads and writes one key per call (``put_if_empty``, ``put_data``,
``delete_data``; only ``peek_many`` takes several). The scheduler claims, reads and records
thousands of keys on the minute, so each operation here sends all of its keys together on the
backends that can: a pipeline on Redis, one statement on PostgreSQL, one transaction on SQLite.
Other storages (file, memory, custom) get huey's per-key calls, same semantics, no batching.

Every function keeps the meaning of huey's single-key call, key by key: ``put_if_empty_many``
is a ``put_if_empty`` per key (each atomic on its own, all in one packet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from huey.storage import (
    BaseStorage,
    PostgresStorage,
    RedisExpireStorage,
    RedisStorage,
    SqliteStorage,
)

# KEYS: huey's result hash. ARGV: key, value pairs. One 0/1 per pair: HSETNX's answer.
_HSETNX_MANY = r"""
local won = {}
for i = 1, #ARGV, 2 do
  won[#won + 1] = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return won
"""

# The rows of a multi-row PostgreSQL write, in the order of its (sorted) key array. Each row
# locks its key until the statement's transaction ends: two runners writing the same keys in
# different orders (files ordered differently, catch-up runs) each waited for a key the other
# held, and PostgreSQL aborted one with "deadlock detected". In one order they queue instead.
# The arrays go in binary (``%b``): psycopg escapes each element of a text-format array with a
# regular expression, which cost as much as the statement itself (1,000 keys: 11.5 ms, 6.8 ms
# in binary).
_POSTGRES_ORDERED = "unnest(%b::text[], %b::bytea[]) with ordinality as t(k, v, n) order by n"


def _postgres_rows(items: Mapping[str, bytes]) -> tuple[list[str], list[bytes]]:
    """The two arrays of :data:`_POSTGRES_ORDERED`: the keys sorted, their values alike."""
    keys = sorted(items)
    return keys, [items[k] for k in keys]


# SQLite limits the number of parameters of one statement; 3 per row stays far below it.
_SQLITE_ROWS = 500


def native(storage: BaseStorage) -> bool:
    """Whether ``storage`` is huey's (or jobrunner's) own class, whose statements this package
    knows; a custom subclass may change what a write does, so it gets its own per-key calls."""
    return type(storage).__module__ in _NATIVE_MODULES


_NATIVE_MODULES = frozenset({"huey.storage", "jobrunner.factory._backends"})


def put_if_empty_many(storage: BaseStorage, items: Mapping[str, bytes]) -> set[str]:
    """Write each key of ``items`` that is not set yet; the keys this call wrote."""
    if not items:
        return set()
    keys = list(items)
    if not native(storage):
        return {k for k in keys if storage.put_if_empty(k, items[k])}
    if isinstance(storage, RedisExpireStorage):
        pipe = storage.conn.pipeline(transaction=False)
        for key in keys:
            pipe.set(storage.result_key(key), items[key], nx=True)
        return {k for k, ok in zip(keys, pipe.execute(), strict=True) if ok}
    if isinstance(storage, RedisStorage):
        # One command with every key: redis-py packs a pipeline command by command, which
        # cost more than the round trip it saves (10,000 claims: 0.7 s of packing).
        script = storage.__dict__.get("_jobrunner_hsetnx")
        if script is None:
            script = storage._jobrunner_hsetnx = storage.conn.register_script(_HSETNX_MANY)
        args: list[Any] = []
        for key in keys:
            args += (key, items[key])
        answers = script(keys=[storage.result_key], args=args)
        return {k for k, ok in zip(keys, answers, strict=True) if ok}
    if isinstance(storage, PostgresStorage):
        rows = storage.sql(
            f"insert into {storage.table_kv} (queue, key, value) "
            f"select %s, k, v from {_POSTGRES_ORDERED} on conflict do nothing returning key",
            (storage.name, *_postgres_rows(items)),
            results=True,
        )
        return {str(row[0]) for row in rows}
    if isinstance(storage, SqliteStorage):
        won: set[str] = set()
        with storage.db(commit=True) as curs:
            for key in keys:
                curs.execute(
                    "insert or ignore into kv (queue, key, value) values (?, ?, ?)",
                    (storage.name, key, storage.to_blob(items[key])),
                )
                if curs.rowcount == 1:
                    won.add(key)
        return won
    return {k for k in keys if storage.put_if_empty(k, items[k])}


def peek_many(storage: BaseStorage, keys: Sequence[str]) -> dict[str, bytes]:
    """The stored values of those ``keys`` that are set (huey's ``peek_many``, chunked)."""
    if native(storage) and isinstance(storage, PostgresStorage):
        rows = storage.sql(
            f"select key, value from {storage.table_kv} where queue = %s and key = any(%b::text[])",
            (storage.name, list(keys)),
            results=True,
        )
        return {_text(key): bytes(value) for key, value in rows}
    found: dict[str, bytes] = {}
    size = _SQLITE_ROWS if isinstance(storage, SqliteStorage) else 5000
    for start in range(0, len(keys), size):
        chunk = list(keys[start : start + size])
        for key, value in storage.peek_many(chunk).items():
            found[_text(key)] = bytes(value)
    return found


def put_many(storage: BaseStorage, items: Mapping[str, bytes]) -> None:
    """Set every key of ``items`` (huey's ``put_data`` per key, in one round trip)."""
    if not items:
        return
    if not native(storage):
        for key, value in items.items():
            storage.put_data(key, value)
    elif isinstance(storage, RedisExpireStorage):
        storage.conn.mset({storage.result_key(k): v for k, v in items.items()})
    elif isinstance(storage, RedisStorage):
        storage.conn.hset(storage.result_key, mapping=dict(items))
    elif isinstance(storage, PostgresStorage):
        storage.sql(
            f"insert into {storage.table_kv} (queue, key, value) "
            f"select %s, k, v from {_POSTGRES_ORDERED} "
            "on conflict (queue, key) do update set value = excluded.value",
            (storage.name, *_postgres_rows(items)),
        )
    elif isinstance(storage, SqliteStorage):
        with storage.db(commit=True) as curs:
            curs.executemany(
                "insert or replace into kv (queue, key, value) values (?, ?, ?)",
                [(storage.name, k, storage.to_blob(v)) for k, v in items.items()],
            )
    else:
        for key, value in items.items():
            storage.put_data(key, value)


def put_greater_many(storage: BaseStorage, items: Mapping[str, bytes]) -> None:
    """Set each key of ``items`` that is unset or holds a value that sorts before the new one
    (byte order): a record that only moves forward, such as an ISO 8601 time in one format.

    One conditional statement on PostgreSQL and SQLite (atomic per key); a read and a write
    elsewhere, where two writers racing can leave the smaller value.
    """
    if not items:
        return
    if native(storage) and isinstance(storage, PostgresStorage):
        storage.sql(
            f"insert into {storage.table_kv} as kv (queue, key, value) "
            f"select %s, k, v from {_POSTGRES_ORDERED} "
            "on conflict (queue, key) do update set value = excluded.value "
            "where kv.value < excluded.value",
            (storage.name, *_postgres_rows(items)),
        )
    elif native(storage) and isinstance(storage, SqliteStorage):
        with storage.db(commit=True) as curs:
            curs.executemany(
                "insert into kv (queue, key, value) values (?, ?, ?) "
                "on conflict (queue, key) do update set value = excluded.value "
                "where kv.value < excluded.value",
                [(storage.name, k, storage.to_blob(v)) for k, v in items.items()],
            )
    else:
        current = peek_many(storage, list(items))
        put_many(storage, {k: v for k, v in items.items() if k not in current or current[k] < v})


def delete_many(storage: BaseStorage, keys: Iterable[str]) -> None:
    """Delete every key of ``keys`` that is set."""
    keys = list(keys)
    if not keys:
        return
    if not native(storage):
        for key in keys:
            storage.delete_data(key)
    elif isinstance(storage, RedisExpireStorage):
        storage.conn.delete(*(storage.result_key(k) for k in keys))
    elif isinstance(storage, RedisStorage):
        storage.conn.hdel(storage.result_key, *keys)
    elif isinstance(storage, PostgresStorage):
        storage.sql(
            f"delete from {storage.table_kv} where queue = %s and key = any(%b::text[])",
            (storage.name, keys),
        )
    elif isinstance(storage, SqliteStorage):
        with storage.db(commit=True) as curs:
            curs.executemany(
                "delete from kv where queue = ? and key = ?", [(storage.name, k) for k in keys]
            )
    else:
        for key in keys:
            storage.delete_data(key)


def _text(key: Any) -> str:
    return key.decode("utf-8") if isinstance(key, bytes | bytearray) else str(key)
