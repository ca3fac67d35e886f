"""What every at-least-once backend provides: in-flight records, leases and dead letters.

A store works on the huey storage of one instance and reuses its connection: it
adds a few keys (Redis) or tables (SQL) beside huey's own and never changes how
huey enqueues. Each backend module says how a message is taken atomically.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

# What identifies one in-flight record: the raw list item on Redis, a row id in SQL.
Token: TypeAlias = bytes | int

# Leases of consumers that expired are kept this long, so that a consumer that
# was only paused (and keeps taking) never leaves records that no lease covers.
LEASE_RETENTION = 86400.0


@dataclass(frozen=True)
class Taken:
    """One message taken from the queue and recorded as in flight for a consumer."""

    token: Token
    data: bytes
    priority: float = 0.0


@dataclass(frozen=True)
class DeadLetter:
    """A message no worker could run, kept with why (``jobrunner dead-letters`` lists them)."""

    id: int
    task: str | None
    reason: str
    time: float
    consumer: str
    data: bytes = field(repr=False)
    priority: float = 0.0

    def header(self) -> bytes:
        """Everything but the id and the data, as JSON (the Redis encoding)."""
        return json.dumps(
            {
                "task": self.task,
                "reason": self.reason,
                "time": self.time,
                "consumer": self.consumer,
                "priority": self.priority,
            }
        ).encode()

    @classmethod
    def from_header(cls, id: int, header: bytes, data: bytes) -> DeadLetter:
        values: dict[str, Any] = json.loads(header)
        return cls(
            id=id,
            task=values.get("task"),
            reason=str(values.get("reason", "")),
            time=float(values.get("time", 0.0)),
            consumer=str(values.get("consumer", "")),
            data=data,
            priority=float(values.get("priority") or 0.0),
        )


@dataclass(frozen=True)
class Recovered:
    """Tasks put back on the queue because their consumer's lease expired."""

    consumer: str
    count: int


class Store(ABC):
    """In-flight records, consumer leases and dead letters of one instance's storage."""

    #: ``take`` waits (up to the storage's read timeout) for a message when the queue is empty.
    blocking: bool = False
    #: ``take`` records its ``taker``, so that :meth:`release_lost` can find what it moved.
    records_takers: bool = False

    @abstractmethod
    def setup(self) -> None:
        """Create what the store needs beside huey's own keys or tables (idempotent)."""

    @abstractmethod
    def renew(self, consumer: str, lease: float) -> int:
        """Extend ``consumer``'s lease to ``lease`` seconds from now.

        Returns 0 when the consumer had no lease, 1 when it was still valid, 2 when
        it had expired (another consumer may have put its tasks back).
        """

    @abstractmethod
    def take(
        self,
        consumer: str,
        acks: Sequence[Token],
        clears: Sequence[str] = (),
        taker: str | None = None,
    ) -> Taken | None:
        """Settle ``acks`` (finished tasks) and ``clears``, then take the next message as in flight.

        ``clears`` are huey keys to delete: the revoke flags of finished tasks,
        deferred by the worker (``jobrunner/_revoke_flags.py``). Taking and
        recording are one atomic step, so a crash at any moment leaves the
        message either on the queue or in flight, never nowhere. ``taker`` names
        this attempt, for :meth:`release_lost` where the store records it.
        """

    def release_lost(self, consumer: str, taker: str) -> int:
        """Put back what the take named ``taker`` moved, if it did; how many.

        A take whose answer never came (the connection dropped after the server
        committed it) leaves a message in flight that no worker runs, and the lease
        of a live consumer never expires: without this it would wait for the
        consumer's stop. A store whose take cannot half-succeed has nothing to do.
        """
        return 0

    @abstractmethod
    def ack(self, consumer: str, tokens: Sequence[Token], clears: Sequence[str] = ()) -> None:
        """Forget the in-flight records ``tokens``: their tasks are done; delete ``clears``."""

    @abstractmethod
    def release(self, consumer: str, token: Token) -> bool:
        """Put an in-flight message back on the queue now; False if it was not in flight."""

    @abstractmethod
    def bury(self, consumer: str, taken: Taken, task: str | None, reason: str, when: float) -> int:
        """Move an in-flight message to the dead letters; its id, or 0 if it was not in flight."""

    @abstractmethod
    def recover(self) -> list[Recovered]:
        """Put back the in-flight messages of every consumer whose lease expired."""

    @abstractmethod
    def retire(self, consumer: str) -> int:
        """``consumer`` stops: put back what it still holds, end its lease; how many."""

    @abstractmethod
    def in_flight(self) -> dict[str, int]:
        """How many messages each consumer holds."""

    @abstractmethod
    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""

    @abstractmethod
    def requeue(self, id: int) -> DeadLetter | None:
        """Put dead letter ``id`` back on the queue; None when there is no such letter."""

    @abstractmethod
    def purge(self) -> int:
        """Delete every dead letter; how many."""
