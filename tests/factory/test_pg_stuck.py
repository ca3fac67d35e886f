"""A PostgreSQL connection left mid-command (psycopg's "connection socket closed" while it
waited to send leaves libpq holding the unfinished command, not marked broken) is replaced
instead of answering every later command with "another command is already in progress".

The state is made on a real connection by starting a command and never reading its answer,
which is what the lost send leaves; the lost send itself is a race of the kernel's poll
(seen in CI under a bulk enqueue whose backend was terminated) that no test can time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import huey.storage
import psycopg
import pytest

from jobrunner.factory._backends import PostgresStorage
from jobrunner.factory._pg_stuck import stuck


def _leave_mid_command(conn: psycopg.Connection[object]) -> None:
    conn.pgconn.send_query(b"select 1")
    assert stuck(conn)


@pytest.fixture
def storages(postgres_dsn: str) -> Iterator[Callable[..., Any]]:
    """Makes storages of huey's ``PostgresStorage`` class (or jobrunner's) on fresh tables."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    made: list[Any] = []

    def make(cls: type[Any] = PostgresStorage, **options: Any) -> Any:
        made.append(cls(name="q", dsn=postgres_dsn, table_prefix=prefix, **options))
        return made[-1]

    yield make
    for storage in made:
        storage.close()


def test_huey_alone_keeps_a_connection_left_mid_command(storages: Callable[..., Any]) -> None:
    """Why the fix exists: plain huey reuses the connection, and it never works again."""
    storage = storages(huey.storage.PostgresStorage)
    storage.enqueue(b"a")
    _leave_mid_command(storage.conn)
    for _ in range(2):
        with pytest.raises(psycopg.OperationalError, match="another command is already"):
            storage.enqueue(b"b")


def test_a_connection_left_mid_command_is_replaced(storages: Callable[..., Any]) -> None:
    storage = storages()
    storage.enqueue(b"a")
    old = storage.conn
    _leave_mid_command(old)
    storage.enqueue(b"b")
    assert old.closed
    assert storage.conn is not old
    assert storage.enqueued_items() == [b"a", b"b"]


def test_a_listening_connection_left_mid_command_is_replaced(
    storages: Callable[..., Any],
) -> None:
    storage = storages(read_timeout=0.2)
    producer = storages()
    assert storage.dequeue() is None  # the listening connection is made
    old = storage._listen_conn()
    _leave_mid_command(old)

    def enqueue_soon() -> None:
        time.sleep(0.3)
        producer.enqueue(b"late")

    thread = threading.Thread(target=enqueue_soon)
    thread.start()
    got = None
    deadline = time.monotonic() + 30
    while got is None and time.monotonic() < deadline:
        got = storage.dequeue()
    thread.join()
    assert got == b"late"
    assert old.closed


def test_a_healthy_connection_is_kept(storages: Callable[..., Any]) -> None:
    storage = storages()
    storage.enqueue(b"a")
    first = storage.conn
    with storage.db(commit=True) as curs:
        curs.execute("select 1")
    storage.enqueue(b"b")
    assert storage.conn is first
    assert not first.closed
