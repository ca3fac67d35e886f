"""The history in SQL: an ``event`` table and a ``consumer`` table beside huey's own.

SQLite: ``jobrunner_event`` and ``jobrunner_consumer`` in the instance's file;
PostgreSQL: ``<table_prefix>_event`` and ``<table_prefix>_consumer``. Each event
is one row: the filtered columns (queue, ts, status, task, schedule), indexed
per filter, and the event's JSON record; a run's ``started`` event written in the
same batch as its outcome is the ``started`` time of the outcome's row instead
(``_history_rows.py``). On PostgreSQL the history opens its own connection
(``storage._create_connection()``: same DSN, same settings) so that writing a batch
never holds huey's connection lock, which the workers use; on SQLite it is huey's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from huey.storage import BaseSqlStorage

from jobrunner.events._history import ConsumerRecord, History, HistoryQuery
from jobrunner.events._history_rows import fold, record, unfold
from jobrunner.events._model import FREQUENT, STARTED, Event

#: What :func:`unfold` reads of a row.
_COLUMNS = "id, ts, status, task, schedule, body, started"


class _SqlHistory(History):
    p: str  # the driver's placeholder
    id_suffix: str
    event: str
    consumer: str
    id_column: str

    def __init__(self, storage: BaseSqlStorage) -> None:
        self.storage = storage
        self.queue: str = storage.name
        self.name = f"history of queue {storage.name}"
        self._conn: Any = None
        self._lock = threading.Lock()

    @property
    def ddl(self) -> list[str]:
        e, c = self.event, self.consumer
        return [
            f"create table if not exists {e} ({self.id_column}, queue text not null, "
            "ts double precision not null, status text not null, task text, schedule text, "
            "body text not null, started double precision)",
            # Newest first is by id (the order rows were written); each index ends with
            # it (SQLite's do implicitly), and time filters are checked along the way.
            f"create index if not exists {e}_queue_id on {e} (queue{self.id_suffix})",
            f"create index if not exists {e}_task_id on {e} (queue, task{self.id_suffix})",
            f"create index if not exists {e}_schedule_id on {e} (queue, schedule{self.id_suffix}) "
            "where schedule is not null",
            # Partial: the frequent statuses are met at once scanning the newest rows, and
            # indexing them would slow every insert of a drain.
            f"create index if not exists {e}_{self.status_index} on {e} "
            f"(queue, status{self.id_suffix}) where {self.rare}",
            f"create table if not exists {c} (queue text not null, id text not null, "
            "heartbeat double precision not null, body text not null, primary key (queue, id))",
            *self.migrations,
        ]

    #: What a table made by an earlier version needs (SQLite adds a column in setup).
    migrations: list[str] = []
    #: The condition of the status index, and the index's name.
    rare = f"status not in ({', '.join(repr(s) for s in sorted(FREQUENT))})"
    status_index = "status_id"

    @contextmanager
    def _cursor(self, commit: bool = False) -> Iterator[Any]:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            curs = conn.cursor()
            try:
                if commit:
                    curs.execute("begin")
                yield curs
                if commit:
                    conn.commit()
            except Exception:
                try:
                    conn.rollback()
                finally:
                    # A broken connection is opened again next time.
                    self._drop()
                raise
            finally:
                curs.close()

    def _connect(self) -> Any:
        return self.storage._create_connection()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def setup(self) -> None:
        with self._cursor(commit=True) as curs:
            for statement in self.ddl:
                curs.execute(statement)

    #: Rows per transaction: on SQLite, a batch's transactions alternate with the workers'.
    chunk = 100_000

    def rows(self, events: Sequence[Event]) -> list[tuple[Any, ...]]:
        """The rows of a batch, as :attr:`insert` takes them."""
        queue = self.queue
        return [
            (queue, e.ts, e.status, e.task, e.schedule, record(e), started)
            for e, started in fold(events)
        ]

    @property
    def insert(self) -> str:
        p = self.p
        return (
            f"insert into {self.event} (queue, ts, status, task, schedule, body, started) "
            f"values ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
        )

    def write(self, events: Sequence[Event]) -> None:
        rows = self.rows(events)
        for start in range(0, len(rows), self.chunk):
            with self._cursor(commit=True) as curs:
                curs.executemany(self.insert, rows[start : start + self.chunk])

    def query(self, query: HistoryQuery) -> list[Event]:
        p = self.p
        where = [f"queue = {p}"]
        params: list[Any] = [self.queue]
        for column, value in (("task", query.task), ("schedule", query.schedule)):
            if value is not None:
                where.append(f"{column} = {p}")
                params.append(value)
        statuses = query.statuses
        if statuses is not None:
            match = f"status in ({', '.join([p] * len(statuses))})"
            params.extend(sorted(statuses))
            if STARTED in statuses:
                match = f"({match} or started is not null)"
            elif not statuses & FREQUENT:
                # The status index covers these only: say so, for the planner to use it.
                match += f" and {self.rare}"
            where.append(match)
        # A row spans its started time (if folded) to its own: these find every row with
        # an event in the window; each event is checked below.
        if query.since is not None:
            where.append(f"ts >= {p}")
            params.append(query.since)
        if query.until is not None:
            where.append(f"coalesce(started, ts) < {p}")
            params.append(query.until)
        sql = f"select {_COLUMNS} from {self.event} where {' and '.join(where)}"
        found: list[Event] = []
        rows = self._rows(f"{sql} order by id desc limit {p}", [*params, query.limit])
        while rows:
            for row in rows:
                for event in unfold(row, newest_first=True):
                    if query.matches(event):
                        found.append(event)
                        if len(found) == query.limit:
                            return found
            if len(rows) < query.limit:
                break
            rows = self._rows(
                f"{sql} and id < {p} order by id desc limit {p}",
                [*params, rows[-1][0], query.limit],
            )
        return found

    def cursor(self) -> Any:
        rows = self._rows(
            f"select coalesce(max(id), 0) from {self.event} where queue = {self.p}", [self.queue]
        )
        return int(rows[0][0])

    def after(self, cursor: Any, limit: int = 1000) -> tuple[list[Event], Any]:
        p = self.p
        rows = self._rows(
            f"select {_COLUMNS} from {self.event} where queue = {p} and id > {p} "
            f"order by id limit {p}",
            [self.queue, cursor, limit],
        )
        events = [e for row in rows for e in unfold(row, newest_first=False)]
        return events, (int(rows[-1][0]) if rows else cursor)

    def prune(self, keep: int, max_age: float, now: float) -> int:
        p, e, queue = self.p, self.event, self.queue
        with self._cursor(commit=True) as curs:
            cutoff = now - max_age
            curs.execute(f"delete from {e} where queue = {p} and ts < {p}", (queue, cutoff))
            deleted = int(curs.rowcount or 0)
            curs.execute(
                f"update {e} set started = null where queue = {p} and started < {p}",
                (queue, cutoff),
            )
            # The row where the newest ``keep`` events end (a folded row is two events):
            # within the newest ``keep`` rows, as every row is at least one.
            curs.execute(
                f"select id, n from (select id, sum(case when started is null then 1 else 2 "
                f"end) over (order by id desc) as n from {e} where queue = {p} "
                f"order by id desc limit {p}) as newest where n >= {p} order by id desc limit 1",
                (queue, keep, keep),
            )
            row = curs.fetchone()
            if row is not None:
                last, count = row
                if count > keep:  # only the outcome of the last row is kept
                    curs.execute(f"update {e} set started = null where id = {p}", (last,))
                curs.execute(f"delete from {e} where queue = {p} and id < {p}", (queue, last))
                deleted += int(curs.rowcount or 0)
        return deleted

    def beat(self, record: ConsumerRecord) -> None:
        p = self.p
        with self._cursor(commit=True) as curs:
            curs.execute(
                f"insert into {self.consumer} (queue, id, heartbeat, body) "
                f"values ({p}, {p}, {p}, {p}) "
                "on conflict (queue, id) do update set heartbeat = excluded.heartbeat, "
                "body = excluded.body",
                (self.queue, record.id, record.heartbeat, record.to_json()),
            )

    def forget(self, consumer: str) -> None:
        p = self.p
        with self._cursor(commit=True) as curs:
            curs.execute(
                f"delete from {self.consumer} where queue = {p} and id = {p}",
                (self.queue, consumer),
            )

    def consumers(self) -> list[ConsumerRecord]:
        rows = self._rows(
            f"select body from {self.consumer} where queue = {self.p} order by id", [self.queue]
        )
        return [ConsumerRecord.from_json(body) for (body,) in rows]

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._cursor() as curs:
            curs.execute(sql, tuple(params))
            return list(curs.fetchall())


class SqliteHistory(_SqlHistory):
    p = "?"
    event = "jobrunner_event"
    consumer = "jobrunner_consumer"
    id_column = "id integer primary key"
    id_suffix = ""  # a SQLite index holds the rowid, in order
    # SQLite evaluates ``not in (...)`` by building a temporary table, for every row
    # inserted: that was half of an insert's cost. Comparisons cost next to nothing.
    rare = " and ".join(f"status <> '{s}'" for s in sorted(FREQUENT))
    status_index = "rare_status_id"
    migrations = ["drop index if exists jobrunner_event_status_id"]

    def exists(self) -> bool:
        rows = self._rows(
            "select 1 from sqlite_master where type = 'table' and name = ?", [self.event]
        )
        return bool(rows)

    # SQLite has one writer at a time. Through huey's own connection and lock, a worker
    # that wants to take a task while a batch is written waits on that lock and goes
    # as soon as it is free; through a second connection it would wait in SQLite's busy
    # handler, which sleeps 1, 2, 5... up to 100 ms: a drain lost a quarter of its speed.

    @contextmanager
    def _cursor(self, commit: bool = False) -> Iterator[Any]:
        with self.storage.db(commit=commit) as curs:
            yield curs

    def setup(self) -> None:
        super().setup()
        columns = [row[1] for row in self._rows(f"pragma table_info({self.event})", [])]
        if "started" not in columns:  # a history written before runs were folded
            with self._cursor(commit=True) as curs:
                curs.execute(f"alter table {self.event} add column started double precision")

    def write(self, events: Sequence[Event]) -> None:
        rows = self.rows(events)  # encoded before taking huey's lock
        with self.storage.db() as curs:
            # The workers wait while a batch is written: its commit skips the fsync (WAL
            # mode, synchronous=NORMAL), and the next commit of a worker syncs it with its
            # own. Only a power cut in between could lose the batch.
            (level,) = curs.execute("pragma synchronous").fetchone()
            if level > 1:
                curs.execute("pragma synchronous = normal")
            try:
                curs.execute("begin")
                try:
                    curs.executemany(self.insert, rows)
                except BaseException:
                    curs.execute("rollback")
                    raise
                curs.execute("commit")
            finally:
                if level > 1:
                    curs.execute(f"pragma synchronous = {int(level)}")

    def close(self) -> None:
        """The connection is huey's: it stays open."""


class PostgresHistory(_SqlHistory):
    p = "%s"
    id_column = "id bigserial primary key"
    id_suffix = ", id"

    def __init__(self, storage: BaseSqlStorage) -> None:
        super().__init__(storage)
        prefix = storage.table_task.removesuffix("_task")
        self.event = f"{prefix}_event"
        self.consumer = f"{prefix}_consumer"
        self.migrations = [
            f"alter table {self.event} add column if not exists started double precision"
        ]

    def exists(self) -> bool:
        rows = self._rows("select to_regclass(%s)", [self.event])
        return rows[0][0] is not None
