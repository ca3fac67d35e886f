"""What events cost a drain: jobrunner with its default events (the history) against
jobrunner with events off, on Redis and SQLite, in the same run.

    python -m benchmarks.events_cost [--quick] [--tasks N] [--runs N] [--backend B]

Enqueues N no-op tasks, starts jobrunner's consumer (4 thread workers,
at-least-once, as ``jobrunner run``) in this process, and times until every task
ran; the median of ``--runs`` drains per side, the sides alternating. The target
(docs/events.md): events on >= 0.90x events off. A private redis-server is started
on a free port; SQLite files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobrunner import events
from jobrunner.config.model import ConsumerConfig, EventsConfig, InstanceConfig, Location
from jobrunner.factory import make_huey
from jobrunner.runtime._consumer import make_consumer

WORKERS = 4
SIDES = ("events off", "events on (default: history)")


def _instance(backend: str, storage: dict[str, Any], history: bool) -> InstanceConfig:
    return InstanceConfig(
        name="bench",
        backend=backend,
        location=Location("benchmark", 0, 0),
        queue_name="bench",
        storage=MappingProxyType(storage),
        events=EventsConfig(history=history),
    )


def drain_once(instance: InstanceConfig, tasks: int) -> tuple[float, float, int]:
    """Tasks per second of one drain, this process's CPU per task (us, flushing the events
    included), and how many events reached the history."""
    app_huey = make_huey(instance)
    done = itertools.count(1)
    finished = [0]

    @app_huey.task(name="noop")
    def noop() -> None:
        finished[0] = next(done)

    app_huey.storage.flush_queue()
    for _ in range(tasks):
        noop()
    settings = ConsumerConfig(workers=WORKERS, periodic=False)
    consumer = make_consumer(app_huey, settings, lease=instance.lease, instance=instance)
    cpu = time.process_time()
    started = time.perf_counter()
    consumer.start()
    deadline = time.monotonic() + 600
    while finished[0] < tasks:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {finished[0]} of {tasks} tasks ran in 600 s")
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    consumer.stop(graceful=True)
    cpu_us = (time.process_time() - cpu) / tasks * 1e6
    written = 0
    history = events.history_for(app_huey.storage)
    if instance.events.history and history is not None:
        written = len(
            history.query(events.HistoryQuery(statuses=frozenset({"complete"}), limit=tasks * 2))
        )
        history.close()
    events.reset()
    _clear(app_huey)
    return tasks / elapsed, cpu_us, written


def _clear(app_huey: Any) -> None:
    storage = app_huey.storage
    if hasattr(storage, "conn") and hasattr(storage.conn, "flushdb"):
        storage.conn.flushdb()
    storage.close()


Figures = dict[str, dict[str, list[tuple[float, float]]]]


def run(backends: dict[str, InstanceConfig], tasks: int, runs: int) -> Figures:
    figures: Figures = {b: {s: [] for s in SIDES} for b in backends}
    for name, base in backends.items():
        for index in range(runs):
            sides = list(SIDES) if index % 2 == 0 else list(SIDES)[::-1]
            for side in sides:
                history = side != SIDES[0]
                instance = replace(base, events=EventsConfig(history=history))
                if name == "sqlite":
                    folder = Path(base.storage["filename"]).parent
                    storage = {"filename": str(folder / f"run{index}{int(history)}.db")}
                    instance = replace(instance, storage=MappingProxyType(storage))
                rate, cpu_us, written = drain_once(instance, tasks)
                figures[name][side].append((rate, cpu_us))
                print(
                    f"  {name} run {index + 1} {side}: {rate:,.0f} tasks/s, "
                    f"{cpu_us:.0f} us CPU/task, {written:,} complete events in the history",
                    file=sys.stderr,
                )
    return figures


def table(figures: Figures, tasks: int, runs: int) -> str:
    lines = [
        f"Drain of {tasks:,} no-op tasks, {WORKERS} thread workers, jobrunner's consumer, "
        f"median of {runs} runs per side (the sides alternate):",
        "",
        "| backend | events | tasks/s per run | median tasks/s | on/off | CPU/task (consumer) |",
        "|---|---|---|---|---|---|",
    ]
    for backend, sides in figures.items():
        off = statistics.median(r for r, _ in sides[SIDES[0]])
        for side, drains in sides.items():
            median = statistics.median(r for r, _ in drains)
            cpu = statistics.median(c for _, c in drains)
            runs_text = ", ".join(f"{r:,.0f}" for r, _ in drains)
            lines.append(
                f"| {backend} | {side} | {runs_text} | {median:,.0f} | {median / off:.2f} "
                f"| {cpu:.0f} us |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.events_cost", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 tasks instead of 10,000")
    parser.add_argument("--tasks", type=int, help="tasks per drain")
    parser.add_argument("--runs", type=int, default=3, help="drains per side (median)")
    parser.add_argument("--backend", choices=("redis", "sqlite", "both"), default="both")
    args = parser.parse_args(argv)
    tasks = args.tasks or (2_000 if args.quick else 10_000)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="jobrunner-bench-events-") as tmp:
        server: Any = None
        backends: dict[str, InstanceConfig] = {}
        if args.backend in ("redis", "both"):
            from benchmarks._env import RedisServer

            server = RedisServer(Path(tmp))
            server.start()
            backends["redis"] = _instance("redis", {"url": server.url}, False)
        if args.backend in ("sqlite", "both"):
            backends["sqlite"] = _instance("sqlite", {"filename": f"{tmp}/base.db"}, False)
        try:
            figures = run(backends, tasks, args.runs)
        finally:
            if server is not None:
                server.stop()
    print(table(figures, tasks, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
