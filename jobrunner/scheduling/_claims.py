"""Exactly-once per tick: a runner fires ``(schedule, tick)`` only after claiming it in storage.

Every runner that shares an instance's storage evaluates every schedule each minute; the first
to write the claim key wins and enqueues, the others see the key and do nothing. The write is
huey's ``put_if_empty``, which is atomic on every backend jobrunner supports: ``HSETNX`` (or
``SET NX``) on Redis, ``INSERT OR ABORT`` in an exclusive transaction on SQLite,
``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL, a lock around the check on memory and file
storage. There is no leader and no lease to renew: a runner that dies simply stops claiming.

Claims are plain keys in huey's key/value store, so they never expire by themselves (hash fields
on Redis < 7.4 cannot have a TTL). :func:`sweep_claims` deletes old ones; the scheduler runs it
once an hour, in one runner (the sweep itself is claimed).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from huey.storage import (
    BaseStorage,
    PostgresStorage,
    RedisExpireStorage,
    RedisStorage,
    SqliteStorage,
)

from jobrunner.batch import delete_many, put_if_empty_many

CLAIM_PREFIX = "jobrunner:claim:"
# Tick identity in a key: the UTC minute, without ':' so a key splits cleanly on its last ':'.
_TICK_FORMAT = "%Y%m%dT%H%MZ"


def runner_id() -> str:
    """Who claims: host and process, so a claim can be traced to the runner that fired."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_key(name: str, tick: datetime) -> str:
    """The storage key of the claim on ``(name, tick)``; ``tick`` is an aware whole minute."""
    return f"{CLAIM_PREFIX}{name}:{_stamp(tick)}"


# Thousands of keys share a tick each minute: its text is made once, not once per key.
@lru_cache(maxsize=64)
def _stamp(tick: datetime) -> str:
    return tick.astimezone(UTC).strftime(_TICK_FORMAT)


def parse_claim_key(key: str) -> tuple[str, datetime] | None:
    """``(name, tick)`` of a claim key, or None when ``key`` is not one."""
    if not key.startswith(CLAIM_PREFIX):
        return None
    name, _, stamp = key[len(CLAIM_PREFIX) :].rpartition(":")
    try:
        tick = datetime.strptime(stamp, _TICK_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return (name, tick) if name else None


def claim(storage: BaseStorage, name: str, tick: datetime, owner: str | None = None) -> bool:
    """Claim ``(name, tick)``; True for exactly one caller across every runner on ``storage``."""
    value = json.dumps({"by": owner or runner_id(), "at": time.time()}).encode()
    return bool(storage.put_if_empty(claim_key(name, tick), value))


def claim_many(
    storage: BaseStorage, wanted: Iterable[tuple[str, datetime]], owner: str | None = None
) -> set[tuple[str, datetime]]:
    """:func:`claim` of each ``(name, tick)`` in one round trip; the ones this caller won."""
    value = json.dumps({"by": owner or runner_id(), "at": time.time()}).encode()
    keys = {claim_key(name, tick): (name, tick) for name, tick in wanted}
    return {keys[k] for k in put_if_empty_many(storage, dict.fromkeys(keys, value))}


def release_many(storage: BaseStorage, claims: Iterable[tuple[str, datetime]]) -> None:
    """:func:`release` of each ``(name, tick)`` in one round trip."""
    delete_many(storage, [claim_key(name, tick) for name, tick in claims])


def release(storage: BaseStorage, name: str, tick: datetime) -> None:
    """Give a claim back (the winner could not enqueue), so a retry can claim it again."""
    storage.delete_data(claim_key(name, tick))


def claim_owner(storage: BaseStorage, name: str, tick: datetime) -> str | None:
    """Who holds the claim on ``(name, tick)``, or None when nobody does."""
    raw = storage.peek_data(claim_key(name, tick))
    if not isinstance(raw, bytes | bytearray | memoryview):
        return None
    try:
        owner = json.loads(bytes(raw)).get("by")
    except (ValueError, AttributeError):
        return None
    return str(owner) if owner is not None else None


def claimed_ticks(storage: BaseStorage) -> Iterator[tuple[str, datetime]]:
    """Every claim currently in ``storage``, as ``(name, tick)``."""
    for key in _keys_with_prefix(storage, CLAIM_PREFIX):
        parsed = parse_claim_key(key)
        if parsed is not None:
            yield parsed


def sweep_claims(storage: BaseStorage, before: datetime) -> int:
    """Delete every claim on a tick earlier than ``before``; return how many were deleted."""
    deleted = 0
    for name, tick in list(claimed_ticks(storage)):
        if tick < before:
            storage.delete_data(claim_key(name, tick))
            deleted += 1
    return deleted


def _keys_with_prefix(storage: BaseStorage, prefix: str) -> Iterator[str]:
    # huey can only list keys through result_items(), which also reads every stored task result
    # (HGETALL of the whole result hash on Redis). Where the backend can filter by key, ask it
    # to, so a sweep costs a few claims rather than the whole result store.
    if isinstance(storage, RedisExpireStorage):
        start = len(storage.result_prefix)
        for raw in storage.conn.scan_iter(match=storage.result_prefix + prefix.encode() + b"*"):
            yield _text(raw[start:])
    elif isinstance(storage, RedisStorage):
        for field, _value in storage.conn.hscan_iter(storage.result_key, match=prefix + "*"):
            yield _text(field)
    elif isinstance(storage, SqliteStorage):
        rows = storage.sql(
            "select key from kv where queue = ? and substr(key, 1, ?) = ?",
            (storage.name, len(prefix), prefix),
            results=True,
        )
        yield from (_text(row[0]) for row in rows)
    elif isinstance(storage, PostgresStorage):
        rows = storage.sql(
            f"select key from {storage.table_kv} where queue = %s and left(key, %s) = %s",
            (storage.name, len(prefix), prefix),
            results=True,
        )
        yield from (_text(row[0]) for row in rows)
    else:
        yield from (k for k in map(_text, storage.result_items()) if k.startswith(prefix))


def _text(key: Any) -> str:
    return key.decode("utf-8") if isinstance(key, bytes | bytearray) else str(key)
