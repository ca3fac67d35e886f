"""The at-least-once worker, driven loop by loop in this process against real storage.

The subprocess tests (test_delivery_crash.py, test_delivery_dead_letters.py) run
the same code in a real ``jobrunner run``; these pin down each decision of the
worker quickly: acknowledge, put back, or dead-letter.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huey
import pytest
from huey.serializer import SignedSerializer

from jobrunner._polling import PollingWorker
from jobrunner.config.model import ConsumerConfig, InstanceConfig, Location, SerializerConfig
from jobrunner.delivery import Delivery, DeliveryWorker, secrets_of, store_for
from jobrunner.delivery._deadletters import BAD_SIGNATURE, open_message
from jobrunner.runtime._consumer import make_consumer


class Evil:
    """Unpickling this creates ``path``: proof that a payload ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (open, (str(self.path), "w"))


def _instance(name: str, backend: str = "sqlite", **changes: Any) -> InstanceConfig:
    return InstanceConfig(
        name=name,
        backend=backend,
        location=Location("jobs.yaml", 1, 1),
        queue_name=name,
        **changes,
    )


class Rig:
    """A huey instance, its Delivery (started) and one DeliveryWorker to drive by hand."""

    def __init__(self, app_huey: huey.Huey, lease: float = 30.0) -> None:
        self.huey = app_huey
        store = store_for(app_huey.storage)
        assert store is not None
        self.store = store
        self.delivery = Delivery(app_huey, _instance(app_huey.name, lease=lease), store)
        self.delivery.start()
        self.worker = DeliveryWorker(
            app_huey, threading.Event(), 0.001, 0.001, 1.0, delivery=self.delivery
        )

    def drain(self, loops: int = 50) -> None:
        """Run the worker until the queue is empty, then flush its acknowledgements."""
        for _ in range(loops):
            if self.huey.storage.queue_size() == 0:
                break
            self.worker.loop()
        self.worker.shutdown()

    def stop(self) -> None:
        self.delivery.stop()


def _sqlite(folder: Path, name: str = "default", **options: Any) -> huey.SqliteHuey:
    return huey.SqliteHuey(name, filename=str(folder / "queue.db"), **options)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(_sqlite(tmp_path))
    yield made
    made.stop()


def test_a_task_runs_once_and_nothing_stays_in_flight(rig: Rig) -> None:
    calls: list[int] = []
    task = rig.huey.task(name="work")(calls.append)
    task(1)
    task(2)
    rig.drain()
    assert calls == [1, 2]
    assert rig.store.in_flight() == {}
    assert rig.huey.storage.queue_size() == 0


def test_retries_run_once_each_and_leave_nothing_in_flight(rig: Rig) -> None:
    calls: list[int] = []

    def flaky(n: int) -> None:
        calls.append(n)
        raise RuntimeError("flaky")

    rig.huey.task(name="flaky", retries=2)(flaky)(7)
    rig.drain()
    assert calls == [7, 7, 7]  # the first run and two retries, no copy from recovery
    assert rig.store.in_flight() == {}
    assert rig.huey.storage.queue_size() == 0


def test_an_interrupted_task_goes_back_on_the_queue(rig: Rig) -> None:
    runs: list[int] = []

    def cut_off(n: int) -> None:
        runs.append(n)
        if len(runs) == 1:
            raise KeyboardInterrupt  # what a process worker sees when interrupted

    rig.huey.task(name="cut_off")(cut_off)(3)
    rig.worker.loop()
    assert runs == [3]
    assert rig.store.in_flight() == {}
    assert rig.huey.storage.queue_size() == 1
    rig.drain()
    assert runs == [3, 3]


def test_a_message_for_an_unknown_task_is_dead_lettered_then_requeued(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    producer = _sqlite(tmp_path)
    later = producer.task(name="later")(lambda: None)  # the consumer does not know it
    consumer = Rig(_sqlite(tmp_path))
    try:
        later()
        with caplog.at_level(logging.ERROR, "jobrunner.delivery"):
            consumer.drain()
        [letter] = consumer.store.dead_letters()
        assert letter.task is not None
        assert letter.task.endswith(".later")
        assert letter.reason == f"unknown task {letter.task}"
        assert "moved to the dead letters" in caplog.text
        assert consumer.store.in_flight() == {}

        ran: list[str] = []
        consumer.huey.task(name="later")(lambda: ran.append("ran"))
        assert consumer.store.requeue(letter.id) is not None
        consumer.drain()
        assert ran == ["ran"]
        assert consumer.store.dead_letters() == []
    finally:
        consumer.stop()


def test_a_corrupt_message_is_dead_lettered_and_the_worker_goes_on(rig: Rig) -> None:
    calls: list[int] = []
    task = rig.huey.task(name="work")(calls.append)
    rig.huey.storage.enqueue(b"\x80\x05not a pickle")
    task(1)
    rig.drain()
    assert calls == [1]
    [letter] = rig.store.dead_letters()
    assert letter.task is None
    assert letter.reason.startswith("cannot be deserialized: ")


def test_a_task_huey_cannot_start_is_dead_lettered_not_retaken_forever(rig: Rig) -> None:
    calls: list[int] = []
    result = rig.huey.task(name="work")(calls.append)(1)
    # An unreadable revocation record makes huey's execute() fail before the task starts.
    rig.huey.storage.put_data(f"r:{result.id}", b"\x80\x05 not a pickle")
    rig.drain(loops=3)
    assert calls == []
    [letter] = rig.store.dead_letters()
    assert letter.task is not None
    assert letter.task.endswith(".work")
    assert letter.reason.startswith("could not be started: ")
    assert rig.huey.storage.queue_size() == 0
    assert rig.store.in_flight() == {}


def test_an_unsigned_message_is_refused_unread(tmp_path: Path) -> None:
    signed = SignedSerializer(secret="s3cret", salt="huey")
    rig = Rig(_sqlite(tmp_path, serializer=signed))
    try:
        marker = tmp_path / "payload-ran"
        calls: list[int] = []
        task = rig.huey.task(name="work")(calls.append)
        rig.huey.storage.enqueue(pickle.dumps(Evil(marker)))
        task(1)
        rig.drain()
        assert not marker.exists()
        assert calls == [1]
        [letter] = rig.store.dead_letters()
        assert letter.reason == BAD_SIGNATURE
        # The payload is live: unpickled, it would have run.
        pickle.loads(letter.data)
        assert marker.exists()
    finally:
        rig.stop()


def test_open_message_tells_the_reasons_apart(tmp_path: Path) -> None:
    signed = _sqlite(tmp_path, serializer=SignedSerializer(secret="s3cret"))
    known = signed.task(name="known")(lambda: None)
    valid = signed.serialize_task(known.s())
    assert open_message(signed, valid).task is not None
    assert open_message(signed, b"no separator").reason == BAD_SIGNATURE
    other = _sqlite(tmp_path, name="other", serializer=SignedSerializer(secret="other"))
    other.task(name="known")(lambda: None)
    forged = other.serialize_task(other._registry.create_task(signed.serializer.deserialize(valid)))
    assert open_message(signed, forged).reason == BAD_SIGNATURE
    plain = _sqlite(tmp_path, name="plain")
    assert str(open_message(plain, b"\x80\x05garbage").reason).startswith("cannot be deserialized")
    assert open_message(plain, pickle.dumps({"a": 1})).reason == (
        "cannot be deserialized: not a huey message (dict)"
    )
    unknown = open_message(plain, valid.rsplit(b":", 1)[0])
    assert unknown.task is None
    assert unknown.name is not None
    assert unknown.reason == f"unknown task {unknown.name}"


def test_stop_puts_back_what_is_still_in_flight(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.huey.task(name="work")(lambda: None)()
    taken = rig.store.take(rig.delivery.consumer_id, [])  # as a worker cut off mid-task
    assert taken is not None
    with caplog.at_level(logging.WARNING, "jobrunner.delivery"):
        rig.stop()
    assert rig.huey.storage.queue_size() == 1
    assert rig.store.in_flight() == {}
    assert "put back 1 task(s) cut off by the shutdown" in caplog.text


def test_a_starting_consumer_puts_back_the_work_of_an_expired_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app_huey = _sqlite(tmp_path)
    app_huey.task(name="work")(lambda: None)()
    store = store_for(app_huey.storage)
    assert store is not None
    store.setup()
    store.renew("dead-consumer", 30)
    assert store.take("dead-consumer", []) is not None
    store.renew("dead-consumer", -1)  # its lease ended a second ago
    with caplog.at_level(logging.WARNING, "jobrunner.delivery"):
        rig = Rig(app_huey)
    try:
        assert "put back 1 task(s) of consumer dead-consumer" in caplog.text
        assert app_huey.storage.queue_size() == 1
    finally:
        rig.stop()


def test_the_heartbeat_puts_back_the_work_of_a_consumer_that_died_later(tmp_path: Path) -> None:
    app_huey = _sqlite(tmp_path)
    app_huey.task(name="work")(lambda: None)()
    # Renews and recovers every second: its own lease of 3 s stays valid unless this
    # process stalls for 3 s (a 1 s lease expired on a loaded machine).
    rig = Rig(app_huey, lease=3.0)
    try:
        store = rig.store
        store.renew("dies-now", 0.2)
        assert store.take("dies-now", []) is not None
        deadline = time.monotonic() + 60
        while app_huey.storage.queue_size() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app_huey.storage.queue_size() == 1
        assert store.in_flight() == {}
        assert store.renew(rig.delivery.consumer_id, 3.0) == 1  # its own lease stays valid
    finally:
        rig.stop()


def test_delivery_picks_the_worker(tmp_path: Path) -> None:
    settings = ConsumerConfig(workers=2, periodic=False)
    cases = [
        (_sqlite(tmp_path, name="a"), _instance("a"), DeliveryWorker),
        (_sqlite(tmp_path, name="b"), _instance("b", delivery="at_most_once"), PollingWorker),
        (
            huey.FileHuey("c", path=str(tmp_path / "files")),
            _instance("c", backend="file"),
            PollingWorker,
        ),
    ]
    for app_huey, instance, expected in cases:
        consumer = make_consumer(app_huey, settings, instance=instance)
        worker = consumer.worker_threads[0][0]
        assert type(worker) is expected


def test_secrets_of_an_instance_are_masked() -> None:
    instance = _instance(
        "r",
        backend="redis",
        storage={"url": "redis://user:p%40ss-word@host:6379/0"},
        serializer=SerializerConfig(secret="the-signing-secret"),
    )
    assert set(secrets_of(instance)) == {"p%40ss-word", "p@ss-word", "the-signing-secret"}
    dsn = _instance("p", backend="postgres", storage={"dsn": "host=db password=hunter2 user=x"})
    assert secrets_of(dsn) == ["hunter2"]
    quoted = _instance("p", backend="postgres", storage={"dsn": "host=db password = 'a b' user=x"})
    assert secrets_of(quoted) == ["a b"]
    query = _instance(
        "p", backend="postgres", storage={"dsn": "postgresql://h/db?password=q-s&x=1"}
    )
    assert secrets_of(query) == ["q-s"]
    app_huey = huey.MemoryHuey(f"m{uuid.uuid4().hex[:6]}")
    store = store_for(huey.SqliteHuey("x", filename=":memory:").storage)
    assert store is not None
    delivery = Delivery(app_huey, instance, store)
    masked = delivery.redact("auth p@ss-word failed for the-signing-secret")
    assert masked == "auth *** failed for ***"
