"""Batched key/value operations on real storages: each key behaves as huey's single-key call."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huey.storage import BaseStorage, MemoryStorage, PostgresStorage, SqliteStorage

import jobrunner
from jobrunner.batch import (
    delete_many,
    peek_many,
    put_greater_many,
    put_if_empty_many,
    put_many,
)


@pytest.fixture(params=["sqlite", "redis", "redis-expire", "postgres"])
def storages(
    request: pytest.FixtureRequest, write_config: Callable[..., Path]
) -> Iterator[list[BaseStorage]]:
    """Three huey storages on one backend, as three runners would hold them."""
    backend = request.param
    if backend == "sqlite":
        instance = "backend: sqlite, filename: queue.db"
    elif backend == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        instance = f"backend: postgres, dsn: '{dsn}', name: q{uuid.uuid4().hex[:8]}"
    else:
        instance = f"backend: {backend}, url: '{request.getfixturevalue('redis_url')}'"
    config = write_config(f"version: 1\ninstances:\n  main: {{{instance}}}\n")
    apps = [jobrunner.load(config) for _ in range(3)]
    yield [app.huey("main").storage for app in apps]
    for app in apps:
        app.close()


def _race(work: Callable[[int, list[str]], None], keys: list[str]) -> None:
    """Runs ``work(index, its_keys)`` in three threads at once, as three runners; each gets every
    key of ``keys`` in its own order (PostgreSQL deadlocked on that until the keys of a write
    were sorted). Fails with the first error a thread raised."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index, keys[index * 500 :] + keys[: index * 500])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_racing_batched_claims_each_key_is_won_exactly_once(storages: list[BaseStorage]) -> None:
    keys = [f"jobrunner:claim:s{i}:20260504T1200Z" for i in range(1500)]
    won: list[set[str]] = [set(), set(), set()]

    def claim(index: int, mine: list[str]) -> None:
        won[index] = put_if_empty_many(storages[index], dict.fromkeys(mine, b"x"))

    _race(claim, keys)
    assert sum(len(w) for w in won) == len(keys)
    assert set().union(*won) == set(keys)
    # Asking again wins nothing.
    assert put_if_empty_many(storages[0], dict.fromkeys(keys, b"y")) == set()


def test_racing_batched_writes_of_the_same_keys_all_succeed(storages: list[BaseStorage]) -> None:
    """Runners record the same keys (the ticks they decided) at once, each in its own order."""
    keys = [f"jobrunner:last:s{i}" for i in range(1500)]

    def record(index: int, mine: list[str]) -> None:
        for _ in range(3):
            put_many(storages[index], dict.fromkeys(mine, str(index).encode()))

    _race(record, keys)
    assert set(peek_many(storages[0], keys).values()) <= {b"0", b"1", b"2"}
    assert len(peek_many(storages[0], keys)) == len(keys)


def test_put_peek_delete_many(storages: list[BaseStorage]) -> None:
    storage = storages[0]
    put_many(storage, {"a": b"1", "b": b"2"})
    put_many(storage, {"b": b"3"})
    assert peek_many(storage, ["a", "b", "c"]) == {"a": b"1", "b": b"3"}
    delete_many(storage, ["a", "c"])
    assert peek_many(storage, ["a", "b"]) == {"b": b"3"}


def test_put_greater_many_only_moves_each_key_forward(storages: list[BaseStorage]) -> None:
    _only_forward(storages[0])


def test_put_greater_many_on_a_storage_without_batches_reads_then_writes() -> None:
    _only_forward(MemoryStorage("q"))  # huey's per-key calls, as any custom storage gets


def _only_forward(storage: BaseStorage) -> None:
    put_many(storage, {"a": b"2026-05-04T12:01", "b": b"2026-05-04T12:01"})
    put_greater_many(
        storage, {"a": b"2026-05-04T12:00", "b": b"2026-05-04T12:02", "c": b"2026-05-04T12:00"}
    )
    assert peek_many(storage, ["a", "b", "c"]) == {
        "a": b"2026-05-04T12:01",  # kept: the stored value is later
        "b": b"2026-05-04T12:02",
        "c": b"2026-05-04T12:00",  # unset: written
    }
    put_greater_many(storage, {})


def test_racing_forward_writes_keep_the_greatest_value_on_sql(
    storages: list[BaseStorage],
) -> None:
    """One conditional statement per write on PostgreSQL and SQLite: whatever the order the
    runners' writes land in, each key ends at the greatest value (a read and a write
    elsewhere: a race can leave a smaller one, which the claims make harmless)."""
    keys = [f"jobrunner:last:s{i}" for i in range(1500)]

    def record(index: int, mine: list[str]) -> None:
        for _ in range(3):
            put_greater_many(storages[index], dict.fromkeys(mine, str(index).encode()))

    _race(record, keys)
    found = peek_many(storages[0], keys)
    assert len(found) == len(keys)
    if isinstance(storages[0], PostgresStorage | SqliteStorage):
        assert set(found.values()) == {b"2"}
    else:
        assert set(found.values()) <= {b"0", b"1", b"2"}
