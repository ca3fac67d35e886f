"""The event model: one :class:`Event` per step of a run, of a schedule or of a consumer.

An event becomes one JSON object (:meth:`Event.as_dict`), the same in every sink
(Redis pub/sub message, log line, history record) and in ``schemas/event.schema.json``.
The original huey emitter's fields (``status``, ``id``, ``task``, ``retries``,
``retry_delay``, ``execute_time``, ``error``, ``traceback``) keep their names.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Runs (emitted where the task runs; ENQUEUED by the producer, off by default).
ENQUEUED = "enqueued"
STARTED = "started"
COMPLETE = "complete"
ERROR = "error"
RETRYING = "retrying"
REVOKED = "revoked"
EXPIRED = "expired"
LOCKED = "locked"
CANCELED = "canceled"
INTERRUPTED = "interrupted"
TIMEOUT = "timeout"
DEAD_LETTERED = "dead-lettered"
RECOVERED = "recovered"
# Schedules.
FIRED = "fired"
SKIPPED = "skipped"
CAUGHT_UP = "caught-up"
# Consumers and reloads.
CONSUMER_STARTED = "consumer-started"
CONSUMER_STOPPED = "consumer-stopped"
RELOAD_APPLIED = "reload-applied"
RELOAD_REJECTED = "reload-rejected"
# Something a person did (pause, resume, requeue...): ``action`` and ``by`` in ``data``.
ACTION = "action"

RUN_STATUSES = frozenset(
    {
        ENQUEUED,
        STARTED,
        COMPLETE,
        ERROR,
        RETRYING,
        REVOKED,
        EXPIRED,
        LOCKED,
        CANCELED,
        INTERRUPTED,
        TIMEOUT,
        DEAD_LETTERED,
        RECOVERED,
    }
)
#: The statuses most events have: a filter on them finds matches without an index.
FREQUENT = frozenset({ENQUEUED, STARTED, COMPLETE})
#: How a run ended (or this attempt did): what ``jobrunner history`` lists by default.
OUTCOMES = frozenset(
    {COMPLETE, ERROR, RETRYING, REVOKED, EXPIRED, LOCKED, CANCELED, INTERRUPTED, TIMEOUT}
    | {DEAD_LETTERED}
)
SCHEDULE_STATUSES = frozenset({FIRED, SKIPPED, CAUGHT_UP})
CONSUMER_STATUSES = frozenset({CONSUMER_STARTED, CONSUMER_STOPPED, RELOAD_APPLIED, RELOAD_REJECTED})
STATUSES = RUN_STATUSES | SCHEDULE_STATUSES | CONSUMER_STATUSES | {ACTION}

# The keys every event object has (None where they do not apply), in this order.
FIELDS = (
    "status",
    "ts",
    "instance",
    "id",
    "task",
    "schedule",
    "tick",
    "retries",
    "retry_delay",
    "execute_time",
    "error",
    "traceback",
    "duration",
    "consumer",
    "host",
    "pid",
    "generation",
)


@dataclass(slots=True)
class Event:
    """One event. ``ts`` is epoch seconds (UTC in JSON); ``data`` holds the status's own fields.

    ``data`` keys per status: started ``enqueued_at`` (epoch seconds, when the message was
    stamped); retrying ``attempt``, ``delay``; dead-lettered ``reason``;
    recovered ``dead_consumer``, ``count``; fired ``lag``; skipped ``reason``; caught-up
    ``missed``; reload-rejected ``errors``; action ``action``, ``by``; any run event
    ``args``, ``kwargs`` with ``events.capture_args: true``.
    """

    status: str
    ts: float
    instance: str | None = None
    id: str | None = None
    task: str | None = None
    schedule: str | None = None
    tick: str | None = None
    retries: int | None = None
    retry_delay: float | None = None
    execute_time: float | None = None
    error: str | None = None
    traceback: str | None = None
    duration: float | None = None
    consumer: str | None = None
    host: str | None = None
    pid: int | None = None
    generation: int | None = None
    data: Mapping[str, Any] | None = field(default=None)

    @property
    def time(self) -> datetime:
        """``ts`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.ts, UTC)

    def as_dict(self) -> dict[str, Any]:
        """The event's JSON object: :data:`FIELDS`, then the status's own fields."""
        # Spelled out (not a loop over FIELDS): the dispatcher encodes every event.
        out: dict[str, Any] = {
            "status": self.status,
            "ts": utc_iso(self.ts),
            "instance": self.instance,
            "id": self.id,
            "task": self.task,
            "schedule": self.schedule,
            "tick": self.tick,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "execute_time": self.execute_time,
            "error": self.error,
            "traceback": self.traceback,
            "duration": self.duration,
            "consumer": self.consumer,
            "host": self.host,
            "pid": self.pid,
            "generation": self.generation,
        }
        if self.data:
            for key, value in self.data.items():
                out.setdefault(key, value)
        return out

    def to_json(self) -> str:
        """One line of JSON (no newline inside)."""
        return _encode(self.as_dict())

    def to_record(self) -> str:
        """The history's encoding: a JSON array of the fields in :data:`FIELDS` order (``ts``
        as epoch seconds), then ``data``. About half the cost of :meth:`to_json`, which
        the dispatcher would otherwise pay for every event; :meth:`from_json` reads both."""
        return encode_list(
            [
                self.status,
                self.ts,
                self.instance,
                self.id,
                self.task,
                self.schedule,
                self.tick,
                self.retries,
                self.retry_delay,
                self.execute_time,
                self.error,
                self.traceback,
                self.duration,
                self.consumer,
                self.host,
                self.pid,
                self.generation,
                self.data,
            ],
            self.data,
        )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Event:
        """The event of a JSON object made by :meth:`as_dict` (unknown keys go to ``data``)."""
        known: dict[str, Any] = {name: values.get(name) for name in FIELDS}
        known["ts"] = parse_ts(known["ts"])
        extra = {k: v for k, v in values.items() if k not in _FIELD_SET}
        return cls(data=extra or None, **known)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        """The event of :meth:`to_json`'s object or :meth:`to_record`'s array."""
        values = json.loads(text)
        if isinstance(values, list) and len(values) == len(FIELDS) + 1:
            return cls(*values)
        if not isinstance(values, dict):
            raise ValueError("an event is a JSON object")
        return cls.from_dict(values)


_FIELD_SET = frozenset(FIELDS)


_encode = json.JSONEncoder(default=repr, separators=(",", ":")).encode


def _flat_encoder() -> Callable[[Any], str]:
    """``_encode`` for a list of strings, numbers and None, a third cheaper: json's C encoder
    made once, where ``JSONEncoder.encode`` makes one per call. Without the check for
    circular references, which such a list cannot have."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _encode
    encoder = make(
        None, repr, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    join = "".join
    return lambda values: join(encoder(values, 0))


_encode_flat = _flat_encoder()


def encode_list(values: list[Any], data: Mapping[str, Any] | None) -> str:
    """``values`` (an event's fields and its ``data``) as a JSON array, without spaces."""
    return (_encode_flat if data is None else _encode)(values)


def utc_iso(ts: float) -> str:
    """``2026-11-30T06:15:04.123456Z``."""
    # isoformat is several times faster than strftime; the offset is always +00:00.
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_ts(value: Any) -> float:
    """Epoch seconds of an ISO-8601 string (or a number)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"not a timestamp: {value!r}")
