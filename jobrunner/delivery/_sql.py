"""At-least-once on PostgreSQL and SQLite: one transaction moves the row to an in-flight table.

huey keeps its queue in a ``task`` table and dequeues by deleting the first row.
Here the same delete feeds an insert into ``inflight`` in one statement
(PostgreSQL: a data-modifying CTE, ``FOR UPDATE SKIP LOCKED`` as in huey) or one
``BEGIN EXCLUSIVE`` transaction (SQLite), so a message is always in exactly one
of the two tables. Leases live in ``lease`` with the database's clock on
PostgreSQL (``now()``) and the local clock on SQLite (one machine by nature).
Dead letters are rows of ``dead_letter``. Every statement goes through huey's
own connection and lock (``storage.db()``). Acknowledgements and the revoke
flags of finished tasks (``jobrunner/_revoke_flags.py``) are settled in the
statement or transaction of the next take.

Table names: ``<table_prefix>_inflight``, ``_lease``, ``_dead_letter`` on PostgreSQL
(``huey_inflight`` ...); ``inflight``, ``lease``, ``dead_letter`` on SQLite, beside
huey's ``task``.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from huey.storage import BaseSqlStorage, PostgresStorage, SqliteStorage

from jobrunner._enqueue_stamp import restamp
from jobrunner.delivery._store import (
    LEASE_RETENTION,
    DeadLetter,
    Recovered,
    Store,
    Taken,
    Token,
)


class _SqlStore(Store):
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
        """A dead letter's columns in the order ``_letter`` reads them."""
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
        return [_letter(row) for row in rows]

    def requeue(self, id: int) -> DeadLetter | None:
        p = self.placeholder
        with self.storage.db(commit=True) as curs:
            row = self._remove_letter(curs, id)
            if row is None:
                return None
            letter = _letter(row)
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


class PostgresStore(_SqlStore):
    """In-flight rows, leases and dead letters beside a huey ``PostgresStorage``."""

    placeholder = "%s"
    created = "extract(epoch from created_at)"
    # huey's connection is in autocommit mode: one statement is already its own
    # transaction, and a begin/commit around it would only cost two round trips.
    write_commit = False

    def __init__(self, storage: PostgresStorage) -> None:
        super().__init__(storage)
        self.task = storage.table_task
        prefix = storage.table_task.removesuffix("_task")
        self.inflight = f"{prefix}_inflight"
        self.lease = f"{prefix}_lease"
        self.dead = f"{prefix}_dead_letter"
        self.blocking = bool(storage.blocking)
        self.read_timeout = float(storage.read_timeout or 1)
        self.ddl = [
            f"create table if not exists {self.inflight} ("
            "id bigint primary key, queue text not null, consumer text not null, "
            "data bytea not null, priority double precision not null default 0.0, "
            "taken_at timestamptz not null default now())",
            f"create index if not exists {self.inflight}_queue_consumer "
            f"on {self.inflight} (queue, consumer)",
            f"create table if not exists {self.lease} ("
            "queue text not null, consumer text not null, "
            "expires_at timestamptz not null, primary key (queue, consumer))",
            f"create table if not exists {self.dead} ("
            "id bigserial primary key, queue text not null, task text, "
            "reason text not null, consumer text not null, data bytea not null, "
            "priority double precision not null default 0.0, "
            "created_at timestamptz not null default now())",
        ]
        self.kv = storage.table_kv
        # The dequeue of huey's PostgresStorage._dequeue, feeding the in-flight table;
        # the finished tasks' records and revoke flags go in the same statement (one
        # round trip).
        self._take_sql = (
            f"with c as (delete from {self.kv} where queue = %s and key = any(%s)), "
            f"a as (delete from {self.inflight} where id = any(%s) and consumer = %s), "
            f"t as (delete from {self.task} where id = ("
            f"select id from {self.task} where queue = %s "
            "order by priority desc, id limit 1 for update skip locked) "
            "returning id, data, priority) "
            f"insert into {self.inflight} (id, queue, consumer, data, priority) "
            "select id, %s, %s, data, priority from t returning id, data, priority"
        )

    def setup(self) -> None:
        with self.storage.db(commit=True) as curs:
            curs.execute("select pg_advisory_xact_lock(hashtext(%s))", (self.inflight,))
            for statement in self.ddl:
                curs.execute(statement)

    def renew(self, consumer: str, lease: float) -> int:
        with self.storage.db() as curs:
            curs.execute(
                f"with old as (select expires_at from {self.lease} "
                "where queue = %s and consumer = %s) "
                f"insert into {self.lease} (queue, consumer, expires_at) "
                "values (%s, %s, now() + %s * interval '1 second') "
                "on conflict (queue, consumer) do update set expires_at = excluded.expires_at "
                "returning (select case when expires_at >= now() then 1 else 2 end from old)",
                (self.queue, consumer, self.queue, consumer, lease),
            )
            row = curs.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _take_now(
        self, consumer: str, acks: Sequence[Token] = (), clears: Sequence[str] = ()
    ) -> Taken | None:
        with self.storage.db() as curs:
            tokens = [int(t) for t in acks]
            curs.execute(
                self._take_sql,
                (self.queue, list(clears), tokens, consumer, self.queue, self.queue, consumer),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return Taken(token=int(row[0]), data=bytes(row[1]), priority=float(row[2]))

    def take(
        self, consumer: str, acks: Sequence[Token], clears: Sequence[str] = ()
    ) -> Taken | None:
        taken = self._take_now(consumer, acks, clears)
        if taken is not None or not self.blocking:
            return taken
        # Wait for huey's enqueue notification, as PostgresStorage.dequeue does.
        conn = self.storage._listen_conn()
        deadline = time.monotonic() + self.read_timeout
        while True:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return None
            if not list(conn.notifies(timeout=timeout, stop_after=1)):
                return None
            taken = self._take_now(consumer)
            if taken is not None:
                return taken

    def ack(self, consumer: str, tokens: Sequence[Token], clears: Sequence[str] = ()) -> None:
        if tokens or clears:
            self.storage.sql(
                f"with c as (delete from {self.kv} where queue = %s and key = any(%s)) "
                f"delete from {self.inflight} where id = any(%s) and consumer = %s",
                (self.queue, list(clears), [int(t) for t in tokens], consumer),
            )

    def _notify(self, curs: Any) -> None:
        curs.execute("select pg_notify(%s, %s)", (self.storage.channel, ""))

    def release(self, consumer: str, token: Token) -> bool:
        with self.storage.db(commit=True) as curs:
            curs.execute(
                f"with d as (delete from {self.inflight} where id = %s and consumer = %s "
                "returning data, priority) "
                f"insert into {self.task} (queue, data, priority) "
                "select %s, data, priority from d",
                (int(token), consumer, self.queue),
            )
            moved: bool = curs.rowcount == 1
            if moved:
                self._notify(curs)
        return moved

    def bury(self, consumer: str, taken: Taken, task: str | None, reason: str, when: float) -> int:
        with self.storage.db() as curs:
            curs.execute(
                f"with d as (delete from {self.inflight} where id = %s and consumer = %s "
                "returning data, priority) "
                f"insert into {self.dead} (queue, task, reason, consumer, data, priority, "
                "created_at) select %s, %s, %s, %s, data, priority, to_timestamp(%s) from d "
                "returning id",
                (int(taken.token), consumer, self.queue, task, reason, consumer, when),
            )
            row = curs.fetchone()
        return int(row[0]) if row else 0

    def _put_back(self, curs: Any, condition: str, params: tuple[Any, ...]) -> list[Recovered]:
        curs.execute(
            f"with moved as (delete from {self.inflight} i where i.queue = %s and ({condition}) "
            "returning consumer, data, priority, id), "
            f"ins as (insert into {self.task} (queue, data, priority) "
            "select %s, data, priority from moved order by id) "
            "select consumer, count(*) from moved group by consumer order by consumer",
            (self.queue, *params, self.queue),
        )
        found = [Recovered(str(c), int(n)) for c, n in curs.fetchall()]
        if found:
            self._notify(curs)
        return found

    def recover(self) -> list[Recovered]:
        with self.storage.db(commit=True) as curs:
            found = self._put_back(
                curs,
                f"not exists (select 1 from {self.lease} l where l.queue = i.queue "
                "and l.consumer = i.consumer and l.expires_at >= now())",
                (),
            )
            curs.execute(
                f"delete from {self.lease} where queue = %s "
                "and expires_at < now() - %s * interval '1 second'",
                (self.queue, LEASE_RETENTION),
            )
        return found

    def retire(self, consumer: str) -> int:
        with self.storage.db(commit=True) as curs:
            found = self._put_back(curs, "i.consumer = %s", (consumer,))
            curs.execute(
                f"update {self.lease} set expires_at = now() - interval '1 millisecond' "
                "where queue = %s and consumer = %s",
                (self.queue, consumer),
            )
        return sum(r.count for r in found)

    def _remove_letter(self, curs: Any, id: int) -> Sequence[Any] | None:
        # One statement: of two concurrent requeues of one letter, only one gets the row.
        curs.execute(
            f"delete from {self.dead} where queue = %s and id = %s returning {self.letter_columns}",
            (self.queue, id),
        )
        row: Sequence[Any] | None = curs.fetchone()
        return row


class SqliteStore(_SqlStore):
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
        self, consumer: str, acks: Sequence[Token], clears: Sequence[str] = ()
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


def _letter(row: Sequence[Any]) -> DeadLetter:
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
