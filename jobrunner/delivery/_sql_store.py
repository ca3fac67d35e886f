"""What the PostgreSQL and SQLite stores share: one transaction moves the row to an
in-flight table, dead letters are rows, and the statements that differ only in names and
placeholders are here.

huey keeps its queue in a ``task`` table and dequeues by deleting the first row.
Here the same delete feeds an insert into ``inflight`` in one statement
(PostgreSQL: a data-modifying CTE, ``FOR UPDATE SKIP LOCKED`` as in huey,
``_postgres_store.py``) or one ``BEGIN EXCLUSIVE`` transaction (SQLite,
``_sqlite_store.py``), so a message is always in exactly one of the two tables. Leases
live in ``lease`` with the database's clock on PostgreSQL (``now()``) and the local clock
on SQLite (one machine by nature). Dead letters are rows of ``dead_letter``. Every
statement goes through huey's own connection and lock (``storage.db()``).
Acknowledgements and the revoke flags of finished tasks (``jobrunner/_revoke_flags.py``)
are settled in the statement or transaction of the next take.

Table names: ``<table_prefix>_inflight``, ``_lease``, ``_dead_letter`` on PostgreSQL
(``huey_inflight`` ...); ``inflight``, ``lease``, ``dead_letter`` on SQLite, beside
huey's ``task``.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from huey.storage import BaseSqlStorage

from jobrunner._enqueue_stamp import restamp
from jobrunner.delivery._store import DeadLetter, Store


class SqlStore(Store):
    """The statements that differ between the dialects only in names and placeholders.

    What really differs (taking, leases on whose clock, moving rows back) stays in
    each subclass, which also sets these:
    """

    placeholder: str  # the driver's: ``%s`` (psycopg) or ``?`` (sqlite3)
    created: str  # ``created_at`` as seconds since the epoch
    write_commit: bool  # ``storage.db(commit=...)`` for a write of one statement
    task: str  # huey's queue table, beside this module's in-flight rows and dead letters
    inflight: str
    dead: str

    def __init__(self, storage: BaseSqlStorage) -> None:
        self.storage = storage
        self.queue: str = storage.name

    @property
    def letter_columns(self) -> str:
        """A dead letter's columns in the order ``letter_of`` reads them."""
        return f"id, task, reason, {self.created}, consumer, data, priority"

    def _notify(self, curs: Any) -> None:
        """Wake consumers waiting for a message; a no-op where they poll."""

    @abstractmethod
    def _remove_letter(self, curs: Any, id: int) -> Sequence[Any] | None:
        """Delete dead letter ``id`` within ``curs``'s transaction; its ``letter_columns``."""

    def in_flight(self) -> dict[str, int]:
        rows = self.storage.sql(
            f"select consumer, count(*) from {self.inflight} "
            f"where queue = {self.placeholder} group by consumer",
            (self.queue,),
            results=True,
        )
        return {str(c): int(n) for c, n in rows}

    def dead_letters(self) -> list[DeadLetter]:
        rows = self.storage.sql(
            f"select {self.letter_columns} from {self.dead} "
            f"where queue = {self.placeholder} order by id",
            (self.queue,),
            results=True,
        )
        return [letter_of(row) for row in rows]

    def requeue(self, id: int) -> DeadLetter | None:
        p = self.placeholder
        with self.storage.db(commit=True) as curs:
            row = self._remove_letter(curs, id)
            if row is None:
                return None
            letter = letter_of(row)
            # A requeue is an enqueue: the start delay counts from now (docs/events.md).
            curs.execute(
                f"insert into {self.task} (queue, data, priority) values ({p}, {p}, {p})",
                (self.queue, restamp(letter.data, time.time()), letter.priority),
            )
            self._notify(curs)
        return letter

    def purge(self) -> int:
        with self.storage.db(commit=self.write_commit) as curs:
            curs.execute(f"delete from {self.dead} where queue = {self.placeholder}", (self.queue,))
            return int(curs.rowcount)


def letter_of(row: Sequence[Any]) -> DeadLetter:
    """A dead letter of its ``letter_columns`` row."""
    id, task, reason, created, consumer, data, priority = row
    return DeadLetter(
        id=int(id),
        task=task,
        reason=str(reason),
        time=float(created),
        consumer=str(consumer),
        data=bytes(data),
        priority=float(priority or 0.0),
    )
