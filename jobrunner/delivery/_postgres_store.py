"""At-least-once on PostgreSQL: one statement moves the row to the in-flight table.

The take is huey's own dequeue (a data-modifying CTE with ``FOR UPDATE SKIP LOCKED``)
feeding an insert into ``<table_prefix>_inflight``; leases expire on the database's clock
(``now()``); a blocking take waits for huey's enqueue notification. What both SQL stores
share is in ``_sql_store.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from huey.storage import PostgresStorage

from jobrunner.delivery._sql_store import SqlStore
from jobrunner.delivery._store import LEASE_RETENTION, Recovered, Taken, Token


class PostgresStore(SqlStore):
    """In-flight rows, leases and dead letters beside a huey ``PostgresStorage``."""

    placeholder = "%s"
    records_takers = True
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
            "taken_at timestamptz not null default now(), taker text)",
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
            f"insert into {self.inflight} (id, queue, consumer, data, priority, taker) "
            "select id, %s, %s, data, priority, %s from t returning id, data, priority"
        )

    def setup(self) -> None:
        with self.storage.db(commit=True) as curs:
            curs.execute("select pg_advisory_xact_lock(hashtext(%s))", (self.inflight,))
            for statement in self.ddl:
                curs.execute(statement)
            # ``taker`` (which take moved a row: release_lost) is newer than the table. An
            # ALTER would lock the table on every start: only where the column is missing.
            curs.execute(
                "select 1 from information_schema.columns where table_schema = current_schema() "
                "and table_name = %s and column_name = 'taker'",
                (self.inflight,),
            )
            if curs.fetchone() is None:
                curs.execute(f"alter table {self.inflight} add column if not exists taker text")

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
        self,
        consumer: str,
        acks: Sequence[Token] = (),
        clears: Sequence[str] = (),
        taker: str | None = None,
    ) -> Taken | None:
        with self.storage.db() as curs:
            tokens = [int(t) for t in acks]
            curs.execute(
                self._take_sql,
                (
                    self.queue,
                    list(clears),
                    tokens,
                    consumer,
                    self.queue,
                    self.queue,
                    consumer,
                    taker,
                ),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return Taken(token=int(row[0]), data=bytes(row[1]), priority=float(row[2]))

    def take(
        self,
        consumer: str,
        acks: Sequence[Token],
        clears: Sequence[str] = (),
        taker: str | None = None,
    ) -> Taken | None:
        taken = self._take_now(consumer, acks, clears, taker)
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
            taken = self._take_now(consumer, taker=taker)
            if taken is not None:
                return taken

    def release_lost(self, consumer: str, taker: str) -> int:
        with self.storage.db(commit=True) as curs:
            found = self._put_back(curs, "i.consumer = %s and i.taker = %s", (consumer, taker))
        return sum(r.count for r in found)

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
