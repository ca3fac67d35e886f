"""At-least-once on SQLite: one ``BEGIN EXCLUSIVE`` transaction moves the row to ``inflight``.

Leases expire on the local clock (one machine by nature); the consumers poll (SQLite
cannot wake them). What both SQL stores share is in ``_sql_store.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from huey.storage import SqliteStorage

from jobrunner.delivery._sql_store import SqlStore
from jobrunner.delivery._store import LEASE_RETENTION, Recovered, Taken, Token


class SqliteStore(SqlStore):
    """In-flight rows, leases and dead letters beside a huey ``SqliteStorage``."""

    blocking = False
    placeholder = "?"
    created = "created_at"
    # Every write in a ``begin exclusive`` transaction, as huey's SqliteStorage
    # makes its own.
    write_commit = True
    # One database a huey instance, so the names are fixed, beside huey's ``task``.
    task = "task"
    inflight = "inflight"
    dead = "dead_letter"

    ddl = (
        # AUTOINCREMENT: a row id is never reused, so a late acknowledgement can
        # never delete another consumer's newer record.
        "create table if not exists inflight ("
        "id integer primary key autoincrement, queue text not null, "
        "consumer text not null, data blob not null, priority real not null default 0.0, "
        "taken_at real not null)",
        "create index if not exists inflight_queue_consumer on inflight (queue, consumer)",
        "create table if not exists lease ("
        "queue text not null, consumer text not null, expires_at real not null, "
        "primary key (queue, consumer))",
        "create table if not exists dead_letter ("
        "id integer primary key autoincrement, queue text not null, task text, "
        "reason text not null, consumer text not null, data blob not null, "
        "priority real not null default 0.0, created_at real not null)",
    )

    def __init__(self, storage: SqliteStorage) -> None:
        super().__init__(storage)

    def setup(self) -> None:
        with self.storage.db(commit=True) as curs:
            for statement in self.ddl:
                curs.execute(statement)

    def renew(self, consumer: str, lease: float) -> int:
        now = time.time()
        with self.storage.db(commit=True) as curs:
            curs.execute(
                "select expires_at from lease where queue = ? and consumer = ?",
                (self.queue, consumer),
            )
            old = curs.fetchone()
            curs.execute(
                "insert into lease (queue, consumer, expires_at) values (?, ?, ?) "
                "on conflict (queue, consumer) do update set expires_at = excluded.expires_at",
                (self.queue, consumer, now + lease),
            )
        if old is None:
            return 0
        return 1 if old[0] >= now else 2

    def take(
        self,
        consumer: str,
        acks: Sequence[Token],
        clears: Sequence[str] = (),
        taker: str | None = None,
    ) -> Taken | None:
        # Quick check without the exclusive lock, as huey's SqliteStorage.dequeue.
        if (
            not acks
            and not clears
            and not self.storage.sql(
                "select 1 from task where queue = ? limit 1", (self.queue,), results=True
            )
        ):
            return None
        with self.storage.db(commit=True) as curs:
            self._delete(curs, consumer, acks, clears)
            curs.execute(
                "select id, data, priority from task where queue = ? "
                "order by priority desc, id limit 1",
                (self.queue,),
            )
            row = curs.fetchone()
            if row is None:
                return None
            curs.execute("delete from task where id = ?", (row[0],))
            curs.execute(
                "insert into inflight (queue, consumer, data, priority, taken_at) "
                "values (?, ?, ?, ?, ?)",
                (self.queue, consumer, row[1], row[2], time.time()),
            )
            token = int(curs.lastrowid or 0)
        return Taken(token=token, data=bytes(row[1]), priority=float(row[2]))

    def _delete(
        self, curs: Any, consumer: str, tokens: Sequence[Token], clears: Sequence[str] = ()
    ) -> None:
        for key in clears:
            curs.execute("delete from kv where queue = ? and key = ?", (self.queue, key))
        for token in tokens:
            curs.execute(
                "delete from inflight where id = ? and consumer = ?", (int(token), consumer)
            )

    def ack(self, consumer: str, tokens: Sequence[Token], clears: Sequence[str] = ()) -> None:
        if tokens or clears:
            with self.storage.db(commit=True) as curs:
                self._delete(curs, consumer, tokens, clears)

    def release(self, consumer: str, token: Token) -> bool:
        with self.storage.db(commit=True) as curs:
            return self._move_back(curs, "id = ? and consumer = ?", (int(token), consumer)) > 0

    def _move_back(self, curs: Any, condition: str, params: tuple[Any, ...]) -> int:
        where = f"queue = ? and ({condition})"
        curs.execute(
            "insert into task (queue, data, priority) "
            f"select queue, data, priority from inflight where {where} order by id",
            (self.queue, *params),
        )
        moved = int(curs.rowcount)
        curs.execute(f"delete from inflight where {where}", (self.queue, *params))
        return moved

    def bury(self, consumer: str, taken: Taken, task: str | None, reason: str, when: float) -> int:
        with self.storage.db(commit=True) as curs:
            curs.execute(
                "insert into dead_letter (queue, task, reason, consumer, data, priority, "
                "created_at) select queue, ?, ?, consumer, data, priority, ? from inflight "
                "where id = ? and consumer = ?",
                (task, reason, when, int(taken.token), consumer),
            )
            if curs.rowcount != 1:
                return 0
            id = int(curs.lastrowid or 0)
            self._delete(curs, consumer, [taken.token])
        return id

    def recover(self) -> list[Recovered]:
        now = time.time()
        orphaned = (
            "not exists (select 1 from lease l where l.queue = inflight.queue "
            "and l.consumer = inflight.consumer and l.expires_at >= ?)"
        )
        with self.storage.db(commit=True) as curs:
            curs.execute(
                f"select consumer, count(*) from inflight where queue = ? and {orphaned} "
                "group by consumer order by consumer",
                (self.queue, now),
            )
            found = [Recovered(str(c), int(n)) for c, n in curs.fetchall()]
            if found:
                self._move_back(curs, orphaned, (now,))
            curs.execute(
                "delete from lease where queue = ? and expires_at < ?",
                (self.queue, now - LEASE_RETENTION),
            )
        return found

    def retire(self, consumer: str) -> int:
        with self.storage.db(commit=True) as curs:
            moved = self._move_back(curs, "consumer = ?", (consumer,))
            curs.execute(
                "update lease set expires_at = ? where queue = ? and consumer = ?",
                (time.time() - 0.001, self.queue, consumer),
            )
        return moved

    def _remove_letter(self, curs: Any, id: int) -> Sequence[Any] | None:
        # ``begin exclusive`` keeps every other writer out between the select and the
        # delete, so no second requeue can get the letter (and no RETURNING: SQLite 3.35+).
        curs.execute(
            f"select {self.letter_columns} from dead_letter where queue = ? and id = ?",
            (self.queue, id),
        )
        row: Sequence[Any] | None = curs.fetchone()
        if row is not None:
            curs.execute("delete from dead_letter where id = ?", (id,))
        return row
