"""Lock ttl (``lock: {ttl: 5m}``) on storages where huey's ``put_if_empty`` has none.

huey's ``TaskLock(ttl=)`` calls ``storage.put_if_empty(key, value, ttl)``: its SQL
storages refuse a ttl, and its Redis storage needs hash-field expiry (Redis 7.4).
These mixins give the jobrunner storage classes one: a lock taken with a ttl
stores its deadline (``jobrunner:lock-until:`` and 16 digits of milliseconds), and
taking a lock (with a ttl or not) that holds a deadline in the past succeeds, in one
atomic statement or script. Deadlines are the consumers' clocks: keep them in sync
(NTP). Keys other than huey's locks (``<queue>.lock.<name>``: schedule claims, say)
take huey's own path; release and ``flush_locks`` delete either kind.
"""

from __future__ import annotations

import time
from typing import Any

_PREFIX = b"jobrunner:lock-until:"


def _until(deadline: float) -> bytes:
    # Fixed width, so that byte order is time order. A value between the prefix and
    # the prefix with now's digits starts with the prefix: an expired deadline. A lock
    # taken without a ttl holds huey's pickled value, never in that range.
    return _PREFIX + b"%016d" % int(deadline * 1000)


def _huey_path(key: str, ttl: float | None) -> bool:
    return ttl is None and ".lock." not in key


def _stored(value: bytes, now: float, ttl: float | None) -> bytes:
    return value if ttl is None else _until(now + ttl)


class SqliteLockTTL:
    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if _huey_path(key, ttl):
            return bool(super().put_if_empty(key, value))  # type: ignore[misc]
        now = time.time()
        storage: Any = self
        with storage.db(commit=True) as curs:
            curs.execute(
                "insert into kv (queue, key, value) values (?, ?, ?) "
                "on conflict (queue, key) do update set value = excluded.value "
                "where kv.value between ? and ?",
                (storage.name, key, _stored(value, now, ttl), _PREFIX, _until(now)),
            )
            return bool(curs.rowcount == 1)


class PostgresLockTTL:
    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if _huey_path(key, ttl):
            return bool(super().put_if_empty(key, value))  # type: ignore[misc]
        now = time.time()
        storage: Any = self
        with storage.db() as curs:
            curs.execute(
                f"insert into {storage.table_kv} as kv (queue, key, value) values (%s, %s, %s) "
                "on conflict (queue, key) do update set value = excluded.value "
                "where kv.value between %s and %s",
                (storage.name, storage._key(key), _stored(value, now, ttl), _PREFIX, _until(now)),
            )
            return bool(curs.rowcount == 1)


# KEYS[1]: huey's result hash. ARGV: field, new value, the prefix, now in milliseconds.
_REDIS_SCRIPT = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then return 1 end
local held = redis.call('HGET', KEYS[1], ARGV[1])
local prefix = ARGV[3]
if held and string.sub(held, 1, #prefix) == prefix
        and tonumber(string.sub(held, #prefix + 1)) <= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return 1
end
return 0
"""


class RedisLockTTL:
    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if _huey_path(key, ttl):
            return bool(super().put_if_empty(key, value))  # type: ignore[misc]
        now = time.time()
        storage: Any = self
        script = storage.__dict__.get("_lock_script")
        if script is None:
            script = storage._lock_script = storage.conn.register_script(_REDIS_SCRIPT)
        taken = script(
            keys=[storage.result_key],
            args=[key, _stored(value, now, ttl), _PREFIX, int(now * 1000)],
        )
        return bool(taken)
