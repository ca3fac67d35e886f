"""The SQL history's rows on real SQLite files and a real PostgreSQL database.

A run's ``started`` written in the same batch as its outcome is one row (the outcome's,
with a ``started`` time) and is read back as the two events; queries and retention count
events, not rows; a table of the previous version (no ``started`` column, the old JSON
body) is read after ``setup()`` and written to.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import huey.storage
import pytest

from jobrunner.events import Event, HistoryQuery
from jobrunner.events._history_sql import PostgresHistory, SqliteHistory, _SqlHistory

T0 = 1_700_000_000.123456
QUEUE = "rows"
FAR = 10 * 365 * 86400.0  # a max_age that keeps everything

MakeHistory = Callable[[], _SqlHistory]


@pytest.fixture(params=["sqlite", "postgres"])
def make_history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeHistory]:
    """Histories of one queue in one SQLite file / one PostgreSQL table prefix (not set up)."""
    made: list[_SqlHistory] = []

    def make() -> _SqlHistory:
        history: _SqlHistory
        if request.param == "sqlite":
            storage = huey.storage.SqliteStorage(name=QUEUE, filename=str(tmp_path / "h.db"))
            history = SqliteHistory(storage)
        else:
            dsn = request.getfixturevalue("postgres_dsn")
            storage = huey.storage.PostgresStorage(name=QUEUE, dsn=dsn, table_prefix=prefix)
            history = PostgresHistory(storage)
        made.append(history)
        return history

    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield make
    for history in made:
        history.close()


def _run(status: str, ts: float, run: str, task: str, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "instance": "inst",
        "retries": 2,
        "retry_delay": 1.5,
        "consumer": "host-1:123:ab",
        "host": "host-1",
        "pid": 123,
        "generation": 3,
    }
    return Event(status, ts, id=run, task=task, **{**values, **fields})


A_DATA = {"args": [1, "x"], "kwargs": {"k": 0.1}}
A_RUN = {"schedule": "every-minute", "tick": "2023-11-14T22:13", "data": A_DATA}
A_STARTED = _run("started", T0, "a", "t.alpha", **A_RUN)
A_COMPLETE = _run("complete", T0 + 2, "a", "t.alpha", duration=2.0, **A_RUN)
B_STARTED = _run("started", T0 + 1, "b", "t.beta", execute_time=T0 - 5)
C_ERROR = _run(
    "error",
    T0 + 3,
    "c",
    "t.gamma",
    error="RuntimeError: boom é",
    traceback='Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: boom é\n',
    duration=0.25,
)
FIRED = Event(
    "fired",
    T0 + 4,
    instance="inst",
    task="t.alpha",
    schedule="every-minute",
    tick="2023-11-14T22:14",
    consumer="host-1:123:ab",
    host="host-1",
    pid=123,
    generation=3,
    data={"lag": 0.25},
)
B_TIMEOUT = _run("timeout", T0 + 5, "b", "t.beta", execute_time=T0 - 5, duration=4.0)

BATCH_1 = [A_STARTED, B_STARTED, A_COMPLETE, C_ERROR, FIRED]
BATCH_2 = [B_TIMEOUT]
#: Oldest first as read: rows in the order written, A's started right before its outcome.
OLDEST_FIRST = [B_STARTED, A_STARTED, A_COMPLETE, C_ERROR, FIRED, B_TIMEOUT]
NEWEST_FIRST = OLDEST_FIRST[::-1]


def _written(make_history: MakeHistory) -> _SqlHistory:
    history = make_history()
    history.setup()
    history.write(BATCH_1)
    history.write(BATCH_2)
    return history


def _all(history: _SqlHistory) -> list[Event]:
    return history.query(HistoryQuery(limit=1000))


def _row_count(history: _SqlHistory) -> int:
    return int(history._rows(f"select count(*) from {history.event}", [])[0][0])


def _started_times(history: _SqlHistory) -> list[Any]:
    return [
        row[0]
        for row in history._rows(
            f"select started from {history.event} where started is not null order by id", []
        )
    ]


def test_a_batch_round_trips_with_the_started_folded_into_its_outcome(
    make_history: MakeHistory,
) -> None:
    history = _written(make_history)
    assert _row_count(history) == 5  # A's started is in its outcome's row
    assert _started_times(history) == [T0]

    assert _all(history) == NEWEST_FIRST
    events, cursor = history.after(0)
    assert events == OLDEST_FIRST
    assert cursor == history.cursor()
    assert events.index(A_COMPLETE) == events.index(A_STARTED) + 1

    # Paged by rows: a folded row's two events come in the same page.
    paged: list[Event] = []
    position: Any = 0
    while True:
        page, position = history.after(position, limit=2)
        if not page:
            break
        paged.extend(page)
    assert paged == OLDEST_FIRST

    # After the cursor: only what is written later.
    later = _run("started", T0 + 6, "d", "t.delta")
    history.write([later])
    assert history.after(cursor) == ([later], history.cursor())


QUERIES = {
    "started": HistoryQuery(statuses=frozenset({"started"})),
    "complete": HistoryQuery(statuses=frozenset({"complete"})),
    "started+complete": HistoryQuery(statuses=frozenset({"started", "complete"})),
    "timeout (rare)": HistoryQuery(statuses=frozenset({"timeout"})),
    "error+timeout (rare)": HistoryQuery(statuses=frozenset({"error", "timeout"})),
    "task": HistoryQuery(task="t.alpha"),
    "task+started": HistoryQuery(task="t.alpha", statuses=frozenset({"started"})),
    "schedule": HistoryQuery(schedule="every-minute"),
    "since inside A": HistoryQuery(since=T0 + 0.5),
    "until inside A": HistoryQuery(until=T0 + 0.5),
    "window ending inside A": HistoryQuery(since=T0 - 1, until=T0 + 1.5),
    "window starting inside A": HistoryQuery(since=T0 + 0.5, until=T0 + 2.5),
    "window of A's complete only": HistoryQuery(since=T0 + 1.5, until=T0 + 2.5),
    "window of A's started only": HistoryQuery(since=T0 - 1, until=T0 + 0.5),
    "since at A's started": HistoryQuery(since=T0),
    "until at A's complete": HistoryQuery(until=T0 + 2),
    "limit 1, started": HistoryQuery(statuses=frozenset({"started"}), limit=1),
    "limit 4": HistoryQuery(limit=4),
    "limit 5": HistoryQuery(limit=5),
}


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_filters_check_each_event_of_a_row(make_history: MakeHistory, query: HistoryQuery) -> None:
    history = _written(make_history)
    expected = [e for e in NEWEST_FIRST if query.matches(e)][: query.limit]
    assert history.query(query) == expected


def test_the_filters_find_what_they_say(make_history: MakeHistory) -> None:
    history = _written(make_history)

    def q(**filters: Any) -> list[Event]:
        return history.query(HistoryQuery(**filters))

    assert q(statuses=frozenset({"started"})) == [A_STARTED, B_STARTED]
    assert q(statuses=frozenset({"complete"})) == [A_COMPLETE]
    assert q(task="t.alpha") == [FIRED, A_COMPLETE, A_STARTED]
    assert q(schedule="every-minute") == [FIRED, A_COMPLETE, A_STARTED]
    assert q(since=T0 + 0.5, until=T0 + 2.5) == [A_COMPLETE, B_STARTED]
    assert q(until=T0 + 0.5) == [A_STARTED]


@pytest.mark.parametrize(("keep", "remaining"), [(4, 4), (5, 5), (6, 6), (7, 6), (1, 1)])
def test_retention_by_count_counts_events(
    make_history: MakeHistory, keep: int, remaining: int
) -> None:
    history = _written(make_history)
    history.prune(keep, FAR, T0 + 10)
    assert _all(history) == NEWEST_FIRST[:remaining]
    # keep=4: the 4th newest event is A's outcome, its started (5th) is not kept.
    assert _started_times(history) == ([T0] if remaining >= 5 else [])


def test_retention_by_count_clears_the_started_half_and_deletes_older_rows(
    make_history: MakeHistory,
) -> None:
    history = _written(make_history)
    assert history.prune(5, FAR, T0 + 10) == 1  # B's started
    assert _all(history) == NEWEST_FIRST[:5]
    assert _started_times(history) == [T0]
    history.prune(4, FAR, T0 + 10)  # only A's outcome fits: its started time is cleared
    assert _all(history) == [B_TIMEOUT, FIRED, C_ERROR, A_COMPLETE]
    assert _row_count(history) == 4
    assert _started_times(history) == []


def test_retention_by_age_clears_an_old_started_time(make_history: MakeHistory) -> None:
    history = _written(make_history)
    now = T0 + 10
    # The cutoff (T0 + 1.5) is between A's started and its outcome; B's started is older.
    deleted = history.prune(1000, now - (T0 + 1.5), now)
    assert deleted == 1
    assert _all(history) == [B_TIMEOUT, FIRED, C_ERROR, A_COMPLETE]
    assert _started_times(history) == []
    events, _ = history.after(0)
    assert events == [A_COMPLETE, C_ERROR, FIRED, B_TIMEOUT]


def test_retention_is_per_queue(tmp_path: Path) -> None:
    filename = str(tmp_path / "two.db")
    one = SqliteHistory(huey.storage.SqliteStorage(name="one", filename=filename))
    two = SqliteHistory(huey.storage.SqliteStorage(name="two", filename=filename))
    for history in (one, two):
        history.setup()
        history.write(BATCH_1)
        history.write(BATCH_2)
    one.prune(1, 1.0, T0 + 10)
    assert _all(one) == []
    assert _all(two) == NEWEST_FIRST


# -- a table of the previous version ------------------------------------------------------

_OLD_FIELDS = (
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


def _old_record(event: Event) -> str:
    """``Event.to_record`` of the previous version: every field, then ``data``."""
    values = [getattr(event, name) for name in _OLD_FIELDS]
    return json.dumps([*values, event.data], separators=(",", ":"), default=repr)


def _old_ddl(history: _SqlHistory) -> list[str]:
    """The previous version's ``_SqlHistory.ddl`` (before the ``started`` column)."""
    e, c = history.event, history.consumer
    return [
        f"create table if not exists {e} ({history.id_column}, queue text not null, "
        "ts double precision not null, status text not null, task text, schedule text, "
        "body text not null)",
        f"create index if not exists {e}_queue_id on {e} (queue{history.id_suffix})",
        f"create index if not exists {e}_task_id on {e} (queue, task{history.id_suffix})",
        f"create index if not exists {e}_schedule_id on {e} (queue, schedule{history.id_suffix}) "
        "where schedule is not null",
        f"create index if not exists {e}_status_id on {e} (queue, status{history.id_suffix}) "
        "where status not in ('complete', 'enqueued', 'started')",
        f"create table if not exists {c} (queue text not null, id text not null, "
        "heartbeat double precision not null, body text not null, primary key (queue, id))",
    ]


def test_a_table_of_the_previous_version_is_read_and_written_after_setup(
    make_history: MakeHistory,
) -> None:
    history = make_history()
    with history._cursor(commit=True) as curs:
        for statement in _old_ddl(history):
            curs.execute(statement)
        p = history.p
        curs.executemany(
            f"insert into {history.event} (queue, ts, status, task, schedule, body) "
            f"values ({p}, {p}, {p}, {p}, {p}, {p})",
            [(QUEUE, e.ts, e.status, e.task, e.schedule, _old_record(e)) for e in BATCH_1],
        )

    history.setup()
    history.setup()  # again: nothing left to change
    assert _all(history) == BATCH_1[::-1]  # old rows: one event each, as written

    later = [
        _run("started", T0 + 10, "e", "t.eps"),
        _run("interrupted", T0 + 11, "e", "t.eps", duration=1.0),
    ]
    history.write(later)
    assert _all(history) == [*later[::-1], *BATCH_1[::-1]]
    assert _started_times(history) == [T0 + 10]
    assert history.query(HistoryQuery(statuses=frozenset({"started"}))) == [
        later[0],
        B_STARTED,
        A_STARTED,
    ]
    assert history.query(HistoryQuery(statuses=frozenset({"error"}))) == [C_ERROR]
    events, _ = history.after(0)
    assert events == [*BATCH_1, *later]
    # And a second history (a restart) reads the same.
    again = make_history()
    again.setup()
    assert _all(again) == _all(history)


def test_sqlite_setup_replaces_the_status_index_and_a_rare_status_query_uses_it(
    tmp_path: Path,
) -> None:
    history = SqliteHistory(huey.storage.SqliteStorage(name=QUEUE, filename=str(tmp_path / "o.db")))
    with history._cursor(commit=True) as curs:
        for statement in _old_ddl(history):
            curs.execute(statement)
    history.setup()

    indexes = {
        name
        for (name,) in history._rows(
            "select name from sqlite_master where type = 'index' and tbl_name = ?",
            [history.event],
        )
    }
    assert "jobrunner_event_status_id" not in indexes
    assert "jobrunner_event_rare_status_id" in indexes

    # Enough frequent rows around a few rare ones for the plan to matter.
    frequent = [_run("complete", T0 + i, f"r{i}", "t.many") for i in range(2000)]
    rare = [_run("error", T0 + 2000 + i, f"x{i}", "t.many", error="E") for i in range(3)]
    history.write(frequent + rare)

    statements: list[tuple[str, list[Any]]] = []
    original = history._rows

    def recording(sql: str, params: Any) -> list[Any]:
        statements.append((sql, list(params)))
        return original(sql, params)

    history._rows = recording  # type: ignore[method-assign]
    found = history.query(HistoryQuery(statuses=frozenset({"error"}), limit=10))
    assert found == rare[::-1]
    sql, params = statements[0]
    plan = " ".join(str(row[-1]) for row in original(f"explain query plan {sql}", params))
    assert "jobrunner_event_rare_status_id" in plan, plan


def test_a_started_unlike_its_outcome_keeps_a_row_of_its_own(make_history: MakeHistory) -> None:
    history = make_history()
    history.setup()
    started = _run("started", T0, "f", "t.phi", retries=2)
    outcome = _run("error", T0 + 1, "f", "t.phi", retries=1, error="E", duration=1.0)
    other = _run("complete", T0 + 2, "g", "t.phi", duration=1.0)  # no started in the batch
    history.write([started, outcome, other])
    assert _row_count(history) == 3
    assert _started_times(history) == []
    assert _all(history) == [other, outcome, started]
