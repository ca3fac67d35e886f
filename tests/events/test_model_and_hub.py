"""The event model against its JSON Schema, and the hub's buffering rules, in process."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest

from jobrunner.events import FIELDS, Event, Hub
from jobrunner.events._hub import FLUSH_INTERVAL
from tests.events.support import wait_until

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "event.schema.json").read_text(encoding="utf-8")
)


def test_events_round_trip_and_match_the_schema() -> None:
    event = Event(
        "retrying",
        1_790_000_000.25,
        instance="default",
        id="abc",
        task="send",
        retries=1,
        retry_delay=5.0,
        data={"attempt": 1, "delay": 5.0},
    )
    values = json.loads(event.to_json())
    jsonschema.validate(values, SCHEMA)
    assert list(values)[: len(FIELDS)] == list(FIELDS)
    assert values["ts"] == "2026-09-21T14:13:20.250000Z"
    assert Event.from_json(event.to_json()) == event
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**values, "status": "exploded"}, SCHEMA)


def test_subscribers_get_batches_from_the_dispatcher_thread_in_order() -> None:
    hub = Hub()
    got: list[tuple[str, list[str | None]]] = []

    def callback(batch: Sequence[Event]) -> None:
        got.append((threading.current_thread().name, [e.id for e in batch]))

    unsubscribe = hub.subscribe(callback)
    for i in range(5):
        hub.emit(Event("started", 0.0, id=str(i)))
    wait_until(lambda: sum(len(ids) for _, ids in got) == 5, what="five events delivered")
    assert {name for name, _ in got} == {"jobrunner-events"}
    assert [i for _, ids in got for i in ids] == ["0", "1", "2", "3", "4"]
    unsubscribe()
    hub.emit(Event("started", 0.0, id="late"))
    hub.flush()
    assert "late" not in [i for _, ids in got for i in ids]


def test_a_full_buffer_drops_the_oldest_and_counts_them() -> None:
    hub = Hub(size=3)
    release = threading.Event()
    batches: list[list[str | None]] = []

    def slow(batch: Sequence[Event]) -> None:
        batches.append([e.id for e in batch])
        release.wait(10)

    hub.subscribe(slow)
    hub.emit(Event("started", 0.0, id="first"))
    wait_until(lambda: batches, what="the dispatcher busy with the first batch")
    for i in range(10):
        hub.emit(Event("started", 0.0, id=str(i)))
    release.set()
    wait_until(lambda: len(batches) == 2, what="the second batch")
    assert batches[1] == ["7", "8", "9"]
    assert hub.dropped == 7


def test_a_thread_that_waits_for_room_loses_none_of_its_burst() -> None:
    """The scheduler tells thousands of runs at once: waiting for room, none is dropped."""
    got: list[str | None] = []
    hub = Hub(size=100)
    hub.subscribe(lambda batch: got.extend(e.id for e in batch))
    deadline = time.monotonic() + 60
    for i in range(1000):
        if i % 10 == 0:
            hub.wait_for_room(deadline)
        hub.emit(Event("fired", 0.0, id=str(i)))
    wait_until(lambda: len(got) == 1000, what="every event delivered")
    assert got == [str(i) for i in range(1000)]
    assert hub.dropped == 0
    # The same burst without waiting overfills the buffer.
    other = Hub(size=100)
    other.subscribe(lambda batch: None)
    for i in range(1000):
        other.emit(Event("fired", 0.0, id=str(i)))
    assert other.dropped > 0


def test_waiting_for_room_ends_at_the_deadline() -> None:
    hub = Hub(size=4)
    release = threading.Event()
    hub.subscribe(lambda batch: release.wait(10))  # the dispatcher is stuck
    for i in range(4):
        hub.emit(Event("fired", 0.0, id=str(i)))
    wait_until(lambda: len(hub._buffer) < 4, what="the dispatcher busy with a batch")
    for i in range(4):
        hub.emit(Event("fired", 0.0, id=str(i)))
    hub.wait_for_room(time.monotonic() + 0.2)  # returns although there is no room
    assert len(hub._buffer) > 2
    release.set()


class _Sink:
    def __init__(self) -> None:
        self.name = "test sink"
        self.down = False
        self.written: list[str | None] = []

    def write(self, events: Sequence[Event]) -> None:
        if self.down:
            raise ConnectionError("refused")
        self.written.extend(e.id for e in events)

    def close(self) -> None:
        pass


def test_a_failing_sink_is_logged_once_keeps_its_events_and_catches_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = Hub()
    sink = _Sink()
    hub.set_sinks("default", [sink])
    sink.down = True
    with caplog.at_level(logging.WARNING, logger="jobrunner.events"):
        for i in range(20):
            hub.emit(Event("complete", 0.0, instance="default", id=str(i)))
            if i % 5 == 0:
                threading.Event().wait(FLUSH_INTERVAL)
        hub.flush()
        sink.down = False
        hub.flush()  # as a graceful stop does: retried now, whatever the backoff
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "unreachable" in m] == [
        "event sink test sink unreachable (ConnectionError: refused); events are kept "
        "(up to 10000) and retried with backoff"
    ]
    assert len([m for m in messages if "reachable again" in m]) == 1
    assert sink.written == [str(i) for i in range(20)]
