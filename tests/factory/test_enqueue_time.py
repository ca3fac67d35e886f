"""Messages stamped with their enqueue time, on real storages: every path that enqueues,
and every reader (huey's, the delivery worker's, plain huey's results)."""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import huey
import pytest
from huey.serializer import Serializer

import jobrunner
from jobrunner._enqueue_stamp import MAGIC, SIZE, restamp, split, stamp
from jobrunner.delivery import open_message, store_for
from jobrunner.events import Event
from jobrunner.web._metrics import _ready_at

MESSAGE = Serializer().serialize(("any", "message"))


def test_a_stamp_is_read_back_with_the_message() -> None:
    data = stamp(MESSAGE, 1796030000.25)
    assert data[:3] == MAGIC
    assert len(data) == len(MESSAGE) + SIZE
    assert split(data) == (1796030000.25, MESSAGE)
    # Stamping again replaces the time, never stacks headers.
    assert split(stamp(data, 5.0)) == (5.0, MESSAGE)


def test_a_message_without_a_header_is_read_as_it_is() -> None:
    assert split(MESSAGE) == (None, MESSAGE)
    assert restamp(MESSAGE, 5.0) == MESSAGE  # plain huey's stays readable by plain huey
    assert split(restamp(stamp(MESSAGE, 1.0), 5.0)) == (5.0, MESSAGE)


def test_a_later_version_is_skipped_by_its_length_and_a_bad_time_is_no_time() -> None:
    later = MAGIC + bytes([2, 7]) + b"\1\2" + MESSAGE
    assert split(later) == (None, MESSAGE)
    nan = struct.pack(">3sBBd", MAGIC, 1, SIZE, math.nan) + MESSAGE
    assert split(nan) == (None, MESSAGE)
    with pytest.raises(ValueError, match="truncated"):
        split(MAGIC + b"\1")


@pytest.fixture
def app(write_config: Callable[..., Path]) -> Iterator[jobrunner.App]:
    config = write_config(
        """
        version: 1
        instances:
          main: {backend: sqlite, filename: queue.db}
          signed:
            backend: memory
            compression: true
            serializer: {secret: not-a-real-secret}
        tasks:
          add: {function: sample_tasks:add, instance: main}
          fail: {function: sample_tasks:fail, retries: 1, instance: main}
          signed_add: {function: sample_tasks:add, instance: signed}
        """
    )
    with jobrunner.load(config) as loaded:
        yield loaded


def _dequeue(app_huey: huey.Huey) -> huey.api.Task:
    task = app_huey.dequeue()
    assert task is not None
    return task


@pytest.mark.parametrize("instance", ["main", "signed"])
def test_an_enqueued_task_is_dequeued_with_its_enqueue_time(
    app: jobrunner.App, instance: str
) -> None:
    wrapper = app.tasks.add if instance == "main" else app.tasks.signed_add
    before = time.time()
    wrapper(1, 2)
    after = time.time()
    app_huey = app.huey(instance)
    (raw,) = app_huey.storage.enqueued_items()
    assert raw[:3] == MAGIC
    task = _dequeue(app_huey)
    assert before <= task.enqueued_at <= after
    assert task.args == (1, 2)
    # The result is no message: unstamped, as plain huey reads it.
    assert app_huey.execute(task) == 3
    raw_result = app_huey.storage.peek_data(task.id)
    assert raw_result[:1] != b"\0"
    assert app_huey.serializer.deserialize(raw_result) == 3


def test_a_task_keeps_its_enqueue_time_through_the_schedule(app: jobrunner.App) -> None:
    app_huey = app.huey("main")
    app.tasks.add.schedule((1, 2), eta=datetime.now(UTC) + timedelta(hours=1))
    first = _dequeue(app_huey)
    app_huey.add_schedule(first)  # the consumer's move of a task that is not due yet
    (due,) = app_huey.read_schedule(datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=2))
    assert due.enqueued_at == first.enqueued_at
    app_huey.enqueue(due)  # the scheduler's move back to the queue when due
    assert _dequeue(app_huey).enqueued_at == first.enqueued_at


def test_a_retry_is_enqueued_anew(app: jobrunner.App) -> None:
    app_huey = app.huey("main")
    app.tasks.fail("on purpose")
    task = _dequeue(app_huey)
    first = task.enqueued_at
    time.sleep(0.01)  # a later clock reading than the first enqueue's
    app_huey.execute(task)
    retry = _dequeue(app_huey)
    assert retry.id == task.id
    assert retry.enqueued_at > first


def test_a_bulk_enqueue_stamps_each_message(app: jobrunner.App) -> None:
    before = time.time()
    app.tasks.add.map([(i, 1) for i in range(5)])
    app_huey = app.huey("main")
    times = [split(raw)[0] for raw in app_huey.storage.enqueued_items()]
    assert len(times) == 5
    assert all(t is not None and t >= before for t in times)


def test_a_bulk_enqueue_keeps_a_task_s_earlier_time(app: jobrunner.App) -> None:
    app_huey = app.huey("main")
    earlier = app.tasks.add.s(0, 1)
    earlier.enqueued_at = 1796030000.5  # a task serialized before, moved back to the queue
    fresh = [app.tasks.add.s(i, 1) for i in range(1, 4)]
    before = time.time()
    jobrunner.enqueue_many(app_huey, [earlier, *fresh])
    tasks = {t.args[0]: t for t in (_dequeue(app_huey) for _ in range(4))}
    assert tasks[0].enqueued_at == 1796030000.5
    # The batch's new tasks share one moment: the batch's write.
    (moment,) = {tasks[i].enqueued_at for i in (1, 2, 3)}
    assert moment >= before


def test_the_delivery_worker_reads_the_time_and_a_requeue_restamps(app: jobrunner.App) -> None:
    app_huey = app.huey("main")
    store = store_for(app_huey.storage)
    assert store is not None
    store.setup()
    app.tasks.add(1, 2)
    taken = store.take("c1", [])
    assert taken is not None
    opened = open_message(app_huey, taken.data)
    assert opened.task is not None
    first = split(taken.data)[0]
    assert opened.task.enqueued_at == first
    id = store.bury("c1", taken, "jobrunner.tasks.add", "on purpose", time.time())
    time.sleep(0.01)
    assert store.requeue(id) is not None
    again = store.take("c1", [])
    assert again is not None
    requeued = open_message(app_huey, again.data).task
    assert requeued is not None
    assert first is not None
    assert requeued.enqueued_at > first
    assert requeued.args == (1, 2)


def test_a_message_of_plain_huey_is_read_without_a_time(app: jobrunner.App) -> None:
    app_huey = app.huey("main")
    plain = huey.SqliteHuey(app_huey.name, filename=app_huey.storage.filename)

    def add(a: int, b: int) -> int:
        return a + b

    add.__module__ = "jobrunner.tasks"  # the name jobrunner registers the task under
    plain.task(name="add")(add)(2, 3)
    task = _dequeue(app_huey)
    assert task.enqueued_at is None
    assert app_huey.execute(task) == 5


def test_the_delay_counts_from_the_later_of_enqueue_and_eta() -> None:
    def started(enqueued: float | None, eta: float | None) -> Event:
        data = {"enqueued_at": enqueued} if enqueued is not None else None
        return Event("started", 100.0, execute_time=eta, data=data)

    assert _ready_at(started(90.0, None)) == 90.0
    assert _ready_at(started(None, 95.0)) == 95.0
    assert _ready_at(started(90.0, 95.0)) == 95.0  # delayed: from its eta
    assert _ready_at(started(97.0, 95.0)) == 97.0  # an eta already past: from its enqueue
    assert _ready_at(started(None, None)) is None
