"""The scheduler thread's own PostgreSQL connection: its statements never wait for the lock of
the connection huey's workers share (on the minute they did, behind every worker's take)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

import jobrunner
from jobrunner.factory._backends import PostgresStorage
from tests.support.fake_clock import FakeClock, make_scheduler


@pytest.fixture
def storage(postgres_dsn: str) -> Iterator[PostgresStorage]:
    made = PostgresStorage(name="q", dsn=postgres_dsn, table_prefix=f"t{uuid.uuid4().hex[:8]}")
    yield made
    made.close()


def _in_thread(work: Callable[[], Any], timeout: float = 30.0) -> tuple[bool, Any]:
    """Run ``work`` in a new thread; (whether it finished within ``timeout``, its result or
    error)."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return (not thread.is_alive(), out[0] if out else None)


def test_a_thread_with_its_own_connection_does_not_wait_for_the_shared_lock(
    storage: PostgresStorage,
) -> None:
    def own_work() -> Any:
        storage.use_own_connection()
        storage.enqueue(b"from the scheduler")
        storage.put_data("k", b"v")
        return storage.peek_data("k")

    with storage.lock:  # what a worker holds during its take
        finished, result = _in_thread(own_work)
        assert finished
        assert result == b"v"
        # Any other thread still queues behind the lock, as in huey.
        finished, _ = _in_thread(lambda: storage.peek_data("k"), timeout=0.5)
        assert not finished
    assert storage.enqueued_items() == [b"from the scheduler"]


def test_the_own_connection_commits_and_rolls_back_its_transactions(
    storage: PostgresStorage,
) -> None:
    def own_work() -> Any:
        storage.use_own_connection()
        try:
            with storage.db(commit=True) as curs:
                curs.execute(f"insert into {storage.table_task} (queue, data) values ('q', 'lost')")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        with storage.db(commit=True) as curs:
            curs.execute(f"insert into {storage.table_task} (queue, data) values ('q', 'kept')")
        return storage._own_local().conn

    finished, own = _in_thread(own_work)
    assert finished
    assert not isinstance(own, BaseException)
    assert own is not storage.conn
    assert storage.enqueued_items() == [b"kept"]


def test_a_broken_or_stuck_own_connection_is_replaced(storage: PostgresStorage) -> None:
    def own_work() -> Any:
        storage.use_own_connection()
        storage.put_data("k", b"1")
        first = storage._own_local().conn
        first.pgconn.send_query(b"select 1")  # left mid-command, as a lost send leaves it
        storage.put_data("k", b"2")
        second = storage._own_local().conn
        second.close()
        storage.put_data("k", b"3")
        return first, second, storage._own_local().conn

    finished, conns = _in_thread(own_work)
    assert finished
    assert not isinstance(conns, BaseException)
    first, second, third = conns
    assert first.closed
    assert first is not second
    assert third is not second
    assert storage.peek_data("k") == b"3"


def test_close_closes_the_own_connection_of_the_calling_thread(
    storage: PostgresStorage,
) -> None:
    storage.use_own_connection()
    storage.put_data("k", b"1")
    own = storage._own_local().conn
    storage.close()
    assert own.closed
    storage.put_data("k", b"2")  # and a new one is made on the next statement
    assert storage.peek_data("k") == b"2"


def test_the_scheduler_fires_the_minute_while_a_worker_holds_the_shared_connection(
    write_config: Callable[..., Path], postgres_dsn: str
) -> None:
    config = write_config(
        f"""
version: 1
instances:
  main: {{backend: postgres, dsn: '{postgres_dsn}', name: q{uuid.uuid4().hex[:8]}}}
schedules:
  tick: {{function: sample_tasks:echo, cron: '* * * * *'}}
"""
    )
    app = jobrunner.load(config)
    try:
        app_huey = app.huey("main")
        clock = FakeClock(datetime(2026, 5, 4, 12, 0, 0, 100000, tzinfo=UTC))
        scheduler = make_scheduler(app_huey, clock)

        def first_minute() -> None:
            scheduler.initialize()
            scheduler.loop()

        with app_huey.storage.lock:
            finished, error = _in_thread(first_minute)
            assert finished, "the scheduler waited for the workers' connection"
            assert error is None
        assert app_huey.storage.queue_size() == 1
    finally:
        app.close()


def test_statements_on_the_own_connection_raise_as_huey_s_do(storage: PostgresStorage) -> None:
    def own_work() -> Any:
        storage.use_own_connection()
        with storage.db() as curs:
            curs.execute("select * from no_such_table")

    finished, error = _in_thread(own_work)
    assert finished
    assert isinstance(error, psycopg.errors.UndefinedTable)
