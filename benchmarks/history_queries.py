"""History queries at 100,000 events: how long the filtered queries of ``jobrunner history``
and ``app.history()`` take on SQLite, Redis and PostgreSQL.

    python -m benchmarks.history_queries [--events N] [--postgres DSN] [--repeats N]

Writes N events (20 tasks, 5 schedules, 2% errors, spread over a week) through the
history's own write path, then times each query (median of ``--repeats``). A private
redis-server is started on a free port; the SQLite file goes to a temporary folder;
PostgreSQL is measured when ``--postgres`` names a database (its tables are created).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobrunner.config.model import InstanceConfig, Location
from jobrunner.events import Event, History, HistoryQuery, history_for
from jobrunner.factory import make_huey

WEEK = 7 * 86400.0
QUERIES: dict[str, HistoryQuery] = {
    "newest 50": HistoryQuery(limit=50),
    "task (1 of 20), 50": HistoryQuery(task="task7", limit=50),
    "task, outcomes, 50": HistoryQuery(
        task="task7", statuses=frozenset({"complete", "error", "retrying"}), limit=50
    ),
    "schedule (1 of 5), 50": HistoryQuery(schedule="schedule3", limit=50),
    "status error, 50": HistoryQuery(statuses=frozenset({"error"}), limit=50),
    "task + status error, 50": HistoryQuery(task="task7", statuses=frozenset({"error"}), limit=50),
    "outcomes (history's default), 50": HistoryQuery(
        statuses=frozenset({"complete", "error", "retrying"}), limit=50
    ),
    "last hour, 50": HistoryQuery(since=0.0, limit=50),  # since set per run
    "a day a week ago, 50": HistoryQuery(since=0.0, until=0.0, limit=50),
}


def _events(count: int, now: float) -> list[Event]:
    rng = random.Random(7)
    found = []
    for i in range(count):
        ts = now - WEEK + WEEK * i / count
        scheduled = rng.random() < 0.1
        status = "error" if rng.random() < 0.02 else ("started" if i % 2 else "complete")
        found.append(
            Event(
                status,
                ts,
                instance="bench",
                id=f"{i:032x}",
                task=f"task{rng.randrange(20)}",
                schedule=f"schedule{rng.randrange(5)}" if scheduled else None,
                retries=0,
                retry_delay=0.0,
                error="RuntimeError: boom" if status == "error" else None,
                duration=0.001,
                consumer="bench:1:abcdef",
                host="bench",
                pid=1,
                generation=1,
            )
        )
    return found


def _fill(history: History, events: list[Event]) -> None:
    history.setup()
    for start in range(0, len(events), 5000):
        history.write(events[start : start + 5000])
    storage = getattr(history, "storage", None)
    if storage is not None and type(storage).__name__.startswith("Postgres"):
        # What autovacuum does after bulk inserts: the planner needs the statistics.
        storage.sql(f"analyze {history.event}")  # type: ignore[attr-defined]


def measure(history: History, repeats: int, now: float) -> dict[str, float]:
    results = {}
    for label, query in QUERIES.items():
        if label == "last hour, 50":
            query = HistoryQuery(since=now - 3600, limit=50)
        elif label == "a day a week ago, 50":
            query = HistoryQuery(since=now - WEEK + 3600, until=now - WEEK + 86400, limit=50)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            found = history.query(query)
            times.append((time.perf_counter() - started) * 1000)
        # On Redis, time filters apply to when an event was written (its stream ID),
        # which for this synthetic week is now: the old day is empty there.
        assert found or label.startswith("a day"), label
        results[label] = statistics.median(times)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.history_queries", description=__doc__
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgres", metavar="DSN", help="also measure this database")
    args = parser.parse_args(argv)
    now = time.time()
    events = _events(args.events, now)
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="jobrunner-bench-history-") as tmp:
        from benchmarks._env import RedisServer

        server = RedisServer(Path(tmp))
        server.start()
        try:
            setups: dict[str, tuple[str, dict[str, Any]]] = {
                "sqlite": ("sqlite", {"filename": f"{tmp}/history.db"}),
                "redis": ("redis", {"url": server.url}),
            }
            if args.postgres:
                setups["postgres"] = ("postgres", {"dsn": args.postgres})
            for name, (backend, storage) in setups.items():
                instance = InstanceConfig(
                    name="bench",
                    backend=backend,
                    location=Location("benchmark", 0, 0),
                    queue_name="bench",
                    storage=MappingProxyType(storage),
                )
                history = history_for(make_huey(instance).storage, keep=args.events)
                assert history is not None
                started = time.perf_counter()
                _fill(history, events)
                print(
                    f"  {name}: wrote {len(events):,} events in "
                    f"{time.perf_counter() - started:.1f}s",
                    file=sys.stderr,
                )
                table[name] = measure(history, args.repeats, now)
                history.close()
        finally:
            server.stop()
    names = list(table)
    print(
        f"History queries at {args.events:,} events, median of {args.repeats} (ms):\n\n"
        f"| query | {' | '.join(names)} |\n|---|{'---|' * len(names)}"
    )
    for label in QUERIES:
        print(f"| {label} | {' | '.join(f'{table[n][label]:.1f}' for n in names)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
