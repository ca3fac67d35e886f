"""The history: every event kept in the instance's own storage, with retention.

:class:`HistoryQuery` is what can be asked; each backend module answers it
(``_history_sql.py`` for SQLite and PostgreSQL tables, ``_history_redis.py`` for a
capped Redis stream) and also keeps the consumer heartbeat records that
``jobrunner status`` lists as live consumers.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import huey.storage

from jobrunner.events._model import Event

#: A consumer whose heartbeat is older than this is not live any more.
CONSUMER_TTL = 30.0
#: How often a runner writes its consumers' heartbeats and prunes the history.
BEAT_INTERVAL = 10.0
PRUNE_INTERVAL = 60.0


@dataclass(frozen=True)
class HistoryQuery:
    """Filters of a history query; every one optional. Times are epoch seconds."""

    task: str | None = None
    schedule: str | None = None
    statuses: frozenset[str] | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 100

    def matches(self, event: Event) -> bool:
        return (
            (self.task is None or event.task == self.task)
            and (self.schedule is None or event.schedule == self.schedule)
            and (self.statuses is None or event.status in self.statuses)
            and (self.since is None or event.ts >= self.since)
            and (self.until is None or event.ts < self.until)
        )


@dataclass(frozen=True)
class ConsumerRecord:
    """A consumer's heartbeat record: who it is and when it last said so (epoch seconds)."""

    id: str
    host: str
    pid: int
    workers: int
    worker_type: str
    started: float
    heartbeat: float

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str | bytes) -> ConsumerRecord:
        values: dict[str, Any] = json.loads(text)
        return cls(**{k: values[k] for k in cls.__dataclass_fields__})


class History(ABC):
    """The history and consumer records of one instance's storage."""

    name: str

    @abstractmethod
    def setup(self) -> None:
        """Create the tables or keys (the runner does; commands never do)."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether a runner ever created the history here."""

    @abstractmethod
    def write(self, events: Sequence[Event]) -> None:
        """Append a batch (the hub's sink interface)."""

    @abstractmethod
    def query(self, query: HistoryQuery) -> list[Event]:
        """Matching events, newest first, at most ``query.limit``."""

    @abstractmethod
    def cursor(self) -> Any:
        """Where the history ends now: :meth:`after` returns what comes later."""

    @abstractmethod
    def after(self, cursor: Any, limit: int = 1000) -> tuple[list[Event], Any]:
        """Events written after ``cursor``, oldest first, and the new cursor."""

    @abstractmethod
    def prune(self, keep: int, max_age: float, now: float) -> int:
        """Delete all but the newest ``keep`` events and those older than ``max_age``."""

    @abstractmethod
    def beat(self, record: ConsumerRecord) -> None:
        """Write ``record``, replacing the consumer's previous one."""

    @abstractmethod
    def forget(self, consumer: str) -> None:
        """Remove the record of a consumer that stopped."""

    @abstractmethod
    def consumers(self) -> list[ConsumerRecord]:
        """Every consumer record (live or not; see :data:`CONSUMER_TTL`)."""

    @abstractmethod
    def close(self) -> None:
        """Close the history's own connection, if it has one."""


def history_for(storage: huey.storage.BaseStorage, keep: int = 100_000) -> History | None:
    """The history beside ``storage``, or None where there can be none (file, memory).

    ``keep`` caps a Redis stream as it is written (SQL tables are pruned only).
    """
    from jobrunner.events._history_redis import RedisHistory
    from jobrunner.events._history_sql import PostgresHistory, SqliteHistory

    if isinstance(storage, huey.storage.RedisStorage):
        return RedisHistory(storage, keep)
    if isinstance(storage, huey.storage.PostgresStorage):
        return PostgresHistory(storage)
    if isinstance(storage, huey.storage.SqliteStorage):
        return SqliteHistory(storage)
    return None
