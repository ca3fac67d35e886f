"""The at-least-once stores against real SQLite, Redis (list and priority) and PostgreSQL.

Each test enqueues through huey itself and checks what is on the queue, in
flight and in the dead letters, as another process would see it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huey
import pytest

from jobrunner.delivery import Store, store_for

BACKENDS = ["sqlite", "redis", "redis-expire", "priority-redis", "postgres"]


class Backend:
    """A huey instance with one task, and its store."""

    def __init__(self, app_huey: huey.Huey) -> None:
        self.huey = app_huey
        self.echo = app_huey.task(name="echo")(lambda value: value)
        store = store_for(app_huey.storage)
        assert store is not None
        store.setup()
        self.store: Store = store

    def send(self, value: Any, priority: int | None = None) -> None:
        self.echo(value, priority=priority)

    def queued(self) -> int:
        return int(self.huey.storage.queue_size())

    def value(self, data: bytes) -> Any:
        return self.huey.deserialize_task(data).args[0]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = f"q{uuid.uuid4().hex[:8]}"
    kind = request.param
    if kind == "sqlite":
        app_huey: huey.Huey = huey.SqliteHuey(name, filename=str(tmp_path / "q.db"))
    elif kind == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        app_huey = huey.PostgresHuey(name, dsn=dsn, read_timeout=0.2)
    else:
        url = request.getfixturevalue("redis_url")
        cls = {
            "priority-redis": huey.PriorityRedisHuey,
            "redis-expire": huey.RedisExpireHuey,
        }.get(kind, huey.RedisHuey)
        app_huey = cls(name, url=url, read_timeout=0.2)
    yield Backend(app_huey)
    app_huey.storage.close()


def test_a_taken_message_stays_in_flight_until_acknowledged(backend: Backend) -> None:
    store = backend.store
    store.renew("c1", 30)
    backend.send("a")
    backend.send("b")
    first = store.take("c1", [])
    assert first is not None
    assert backend.value(first.data) == "a"
    assert backend.queued() == 1
    assert store.in_flight() == {"c1": 1}
    second = store.take("c1", [first.token])  # acknowledges the first on the way
    assert second is not None
    assert backend.value(second.data) == "b"
    assert store.in_flight() == {"c1": 1}
    store.ack("c1", [second.token])
    assert store.in_flight() == {}
    assert backend.queued() == 0


def test_an_empty_queue_gives_nothing(backend: Backend) -> None:
    backend.store.renew("c1", 30)
    assert backend.store.take("c1", []) is None
    assert backend.store.in_flight() == {}


def test_release_puts_the_message_back_on_the_queue(backend: Backend) -> None:
    store = backend.store
    store.renew("c1", 30)
    backend.send("a")
    taken = store.take("c1", [])
    assert taken is not None
    assert store.release("c1", taken.token) is True
    assert store.release("c1", taken.token) is False  # already back: not twice
    assert store.in_flight() == {}
    again = store.take("c2", [])
    assert again is not None
    assert backend.value(again.data) == "a"


def test_a_released_message_keeps_its_priority(backend: Backend) -> None:
    if not backend.huey.storage.priority:
        pytest.skip("this storage has no priorities")
    store = backend.store
    store.renew("c1", 30)
    backend.send("high", priority=10)
    backend.send("low", priority=1)
    taken = store.take("c1", [])
    assert taken is not None
    assert backend.value(taken.data) == "high"
    store.release("c1", taken.token)
    again = store.take("c1", [])
    assert again is not None
    assert backend.value(again.data) == "high"


def test_recover_puts_back_only_what_expired_leases_hold(backend: Backend) -> None:
    store = backend.store
    store.renew("dead", 30)
    store.renew("alive", 30)
    backend.send("of-dead")
    backend.send("of-alive")
    assert store.take("dead", []) is not None
    assert store.take("alive", []) is not None
    assert store.recover() == []  # nobody expired yet
    # It stops renewing: a lease that ended a second ago (no sub-second real-time lease).
    store.renew("dead", -1)
    found = store.recover()
    assert [(r.consumer, r.count) for r in found] == [("dead", 1)]
    assert store.in_flight() == {"alive": 1}
    assert backend.queued() == 1
    again = store.take("alive", [])
    assert again is not None
    assert backend.value(again.data) == "of-dead"
    assert store.recover() == []  # put back once, not on every pass


def test_an_acknowledgement_after_recovery_does_not_remove_the_requeued_message(
    backend: Backend,
) -> None:
    store = backend.store
    store.renew("slow", 30)
    backend.send("a")
    taken = store.take("slow", [])
    assert taken is not None
    store.renew("slow", -1)  # stalled past its lease
    assert store.recover()
    store.ack("slow", [taken.token])  # the stalled consumer finishes late
    assert backend.queued() == 1


def test_renew_tells_whether_the_lease_was_new_valid_or_expired(backend: Backend) -> None:
    store = backend.store
    assert store.renew("c1", 30) == 0
    assert store.renew("c1", 30) == 1
    assert store.renew("c1", -1) == 1  # still valid when renewed, into the past
    assert store.renew("c1", 30) == 2


def test_retire_puts_back_what_is_left_and_ends_the_lease(backend: Backend) -> None:
    store = backend.store
    store.renew("stopping", 30)
    backend.send("a")
    backend.send("b")
    assert store.take("stopping", []) is not None
    assert store.take("stopping", []) is not None
    assert store.retire("stopping") == 2
    assert store.in_flight() == {}
    assert backend.queued() == 2
    assert store.renew("stopping", 30) == 2  # the lease was left expired


def test_bury_keeps_the_message_with_its_reason_then_requeue_and_purge(
    backend: Backend,
) -> None:
    store = backend.store
    store.renew("c1", 30)
    backend.send("a")
    backend.send("b")
    first = store.take("c1", [])
    second = store.take("c1", [])
    assert first is not None
    assert second is not None
    before = time.time()
    gone = "jobrunner.tasks.gone"
    id1 = store.bury("c1", first, gone, f"unknown task {gone}", before)
    id2 = store.bury("c1", second, None, "bad signature", before)
    assert id1 > 0
    assert id2 > id1
    assert store.bury("c1", first, None, "again", before) == 0  # no longer in flight
    assert store.in_flight() == {}
    letters = store.dead_letters()
    assert [(d.id, d.task, d.reason, d.consumer) for d in letters] == [
        (id1, "jobrunner.tasks.gone", "unknown task jobrunner.tasks.gone", "c1"),
        (id2, None, "bad signature", "c1"),
    ]
    assert letters[0].time == pytest.approx(before, abs=1)
    assert letters[0].data == first.data

    requeued = store.requeue(id1)
    assert requeued is not None
    assert requeued.task == "jobrunner.tasks.gone"
    assert store.requeue(id1) is None
    again = store.take("c1", [])
    assert again is not None
    assert backend.value(again.data) == "a"
    assert [d.id for d in store.dead_letters()] == [id2]
    assert store.purge() == 1
    assert store.dead_letters() == []


def test_setup_is_idempotent(backend: Backend) -> None:
    backend.store.setup()
    backend.store.setup()
    assert backend.store.dead_letters() == []


def test_take_and_ack_delete_the_keys_they_are_given_to_clear(backend: Backend) -> None:
    storage = backend.huey.storage
    store = backend.store
    store.renew("c1", 30)
    for key in ("r:a", "r:b", "r:c", "keep"):
        storage.put_data(key, b"1")
    backend.send("x")
    taken = store.take("c1", [], ["r:a", "r:b"])
    assert taken is not None
    store.ack("c1", [taken.token], ["r:c"])
    assert [storage.has_data_for_key(k) for k in ("r:a", "r:b", "r:c", "keep")] == [
        False,
        False,
        False,
        True,
    ]
    assert store.in_flight() == {}
    # An empty queue still settles them.
    storage.put_data("r:d", b"1")
    assert store.take("c1", [], ["r:d"]) is None
    assert not storage.has_data_for_key("r:d")


def test_a_take_whose_answer_was_lost_is_put_back_by_its_name(backend: Backend) -> None:
    """The connection dropped after the server committed the take: the worker never saw the
    message, and the live consumer's lease never expires. Where the store records takers,
    ``release_lost`` puts back exactly what that take moved."""
    store = backend.store
    store.renew("c1", 30)
    backend.send("running")
    backend.send("lost")
    running = store.take("c1", [], taker="w:1")
    assert running is not None
    assert backend.value(running.data) == "running"
    lost = store.take("c1", [], taker="w:2")  # its answer "never arrived"
    assert lost is not None
    assert store.release_lost("c1", "w:3") == 0  # a take that moved nothing
    if not store.records_takers:
        # SQLite's take is a local transaction: an error means nothing was moved.
        assert store.release_lost("c1", "w:2") == 0
        return
    assert store.release_lost("c1", "w:2") == 1
    assert store.in_flight() == {"c1": 1}  # the running one stays in flight
    again = store.take("c2", [], taker="v:1")
    assert again is not None
    assert backend.value(again.data) == "lost"
    assert store.release_lost("c1", "w:2") == 0  # once


def test_a_postgres_in_flight_table_of_an_earlier_version_gains_the_taker_column(
    postgres_dsn: str,
) -> None:
    import psycopg

    name = f"q{uuid.uuid4().hex[:8]}"
    app_huey = huey.PostgresHuey(name, dsn=postgres_dsn, table_prefix=name)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            f"create table {name}_inflight (id bigint primary key, queue text not null, "
            "consumer text not null, data bytea not null, "
            "priority double precision not null default 0.0, "
            "taken_at timestamptz not null default now())"
        )
    try:
        backend = Backend(app_huey)  # setup() adds the column
        backend.store.renew("c1", 30)
        backend.send("a")
        assert backend.store.take("c1", [], taker="w:1") is not None
        assert backend.store.release_lost("c1", "w:1") == 1
        backend.store.setup()  # a second setup finds the column there
    finally:
        app_huey.storage.close()


@pytest.mark.parametrize("kind", ["redis"])
def test_a_blocking_take_on_redis_waits_without_moving_and_records_what_it_takes(
    kind: str, redis_url: str
) -> None:
    """The wait for an empty queue moves nothing (its answer may be lost); what the take
    then moves is recorded, so a lost answer is put back by the take's name. FIFO holds."""
    app_huey = huey.RedisHuey(f"q{uuid.uuid4().hex[:8]}", url=redis_url, read_timeout=10)
    try:
        backend = Backend(app_huey)
        store = backend.store
        assert store.blocking
        store.renew("c1", 30)
        sender = threading.Timer(0.3, lambda: [backend.send(v) for v in ("first", "second")])
        sender.start()
        taken = store.take("c1", [], taker="w:1")
        sender.join()
        assert taken is not None
        assert backend.value(taken.data) == "first"
        assert backend.queued() == 1
        assert store.release_lost("c1", "w:1") == 1  # as if its answer had been lost
        order = [store.take("c1", [], taker=f"w:{n}") for n in (2, 3)]
        # Put back at the dequeue end: it runs first, as it would have.
        assert [backend.value(t.data) for t in order if t is not None] == ["first", "second"]
    finally:
        app_huey.storage.close()
