"""An event as a row of the SQL history, and a run's ``started`` kept in its outcome's row.

A row has the filtered columns (``ts``, ``status``, ``task``, ``schedule``) and the
rest of the event as a JSON array (:func:`record`): the time is a column only, as
turning a float into text is most of what encoding an event costs.

Between a worker's ``started`` and the attempt's outcome (``complete``, ``error``...)
nothing of the run changes but the time, so when both reach the history in the same
batch, the outcome's row also holds the ``started`` time (:func:`fold`) and the
``started`` event is made again from it when read, equal to the one emitted. Half the
rows, half the encoding: what a drain pays for its history on SQLite. A ``started``
whose outcome comes in a later batch (a run longer than a flush) is a row of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from jobrunner.events import _model as M
from jobrunner.events._model import Event, encode_list

#: The outcomes that end the attempt a ``started`` began (the emitter's, with a duration).
ENDS = frozenset({M.COMPLETE, M.ERROR, M.LOCKED, M.CANCELED, M.INTERRUPTED, M.TIMEOUT})


def fold(events: Sequence[Event]) -> list[tuple[Event, float | None]]:
    """Each event to write, with the time of the ``started`` event folded into it, if any.

    An outcome takes the place of its ``started`` in the order only in that the
    ``started`` row is not written: rows stay in the order of the events they end with.
    """
    rows: list[tuple[Event, float | None] | None] = []
    opened: dict[str, int] = {}  # run id -> index of its started event in rows
    for event in events:
        run = event.id
        if run is not None:
            status = event.status
            if status == M.STARTED:
                opened[run] = len(rows)
            elif status in ENDS:
                at = opened.pop(run, None)
                if at is not None:
                    started = rows[at]
                    assert started is not None
                    if _same_run(started[0], event):
                        rows[at] = None
                        rows.append((event, started[0].ts))
                        continue
        rows.append((event, None))
    return [row for row in rows if row is not None]


def _same_run(started: Event, outcome: Event) -> bool:
    """Whether ``started`` is exactly :func:`started_of` ``(outcome, started.ts)``."""
    try:
        return (
            started.error is None
            and started.traceback is None
            and started.duration is None
            and started.tick == outcome.tick
            and started.task == outcome.task
            and started.schedule == outcome.schedule
            and started.retries == outcome.retries
            and started.retry_delay == outcome.retry_delay
            and started.execute_time == outcome.execute_time
            and started.consumer == outcome.consumer
            and started.instance == outcome.instance
            and started.host == outcome.host
            and started.pid == outcome.pid
            and started.generation == outcome.generation
            and (started.data or None) == (outcome.data or None)
        )
    except Exception:  # captured arguments whose comparison fails: kept apart
        return False


def started_of(outcome: Event, ts: float) -> Event:
    """The ``started`` event folded into ``outcome``'s row at ``ts``."""
    return Event(
        M.STARTED,
        ts,
        instance=outcome.instance,
        id=outcome.id,
        task=outcome.task,
        schedule=outcome.schedule,
        tick=outcome.tick,
        retries=outcome.retries,
        retry_delay=outcome.retry_delay,
        execute_time=outcome.execute_time,
        consumer=outcome.consumer,
        host=outcome.host,
        pid=outcome.pid,
        generation=outcome.generation,
        data=outcome.data,
    )


def record(event: Event) -> str:
    """The fields of ``event`` that are not columns of its row, as a JSON array."""
    return encode_list(
        [
            event.instance,
            event.id,
            event.tick,
            event.retries,
            event.retry_delay,
            event.execute_time,
            event.error,
            event.traceback,
            event.duration,
            event.consumer,
            event.host,
            event.pid,
            event.generation,
            event.data,
        ],
        event.data,
    )


def from_row(ts: float, status: str, task: str | None, schedule: str | None, body: Any) -> Event:
    """The event of a row made by :func:`record` (or, written before, ``Event.to_record``)."""
    values = json.loads(body)
    if isinstance(values, list) and len(values) == 14:
        (instance, id, tick, retries, delay, eta, error, tb, duration, *rest) = values
        consumer, host, pid, generation, data = rest
        return Event(
            status,
            ts,
            instance,
            id,
            task,
            schedule,
            tick,
            retries,
            delay,
            eta,
            error,
            tb,
            duration,
            consumer,
            host,
            pid,
            generation,
            data,
        )
    return Event.from_json(body)


def unfold(row: Sequence[Any], newest_first: bool) -> Iterator[Event]:
    """The events of a row ``(id, ts, status, task, schedule, body, started)``: its
    event, and the ``started`` folded into it."""
    _, ts, status, task, schedule, body, started = row
    event = from_row(ts, status, task, schedule, body)
    if started is None:
        yield event
    elif newest_first:
        yield event
        yield started_of(event, started)
    else:
        yield started_of(event, started)
        yield event
