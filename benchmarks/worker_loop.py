"""The hot path alone: one worker's loop, in this process, jobrunner's against plain huey's.

    python -m benchmarks.worker_loop [--quick] [--tasks N] [--runs N]

The drain benchmark runs whole consumers in subprocesses beside a producer that
polls the queue, on a machine that does other things: on two cores its ratios
move by about 5% from one run to the next. This script removes everything but
the loop a worker runs per task: N no-op tasks are queued, then one worker's
``loop()`` is called in this process until the queue is empty, timed in wall and
CPU time. jobrunner's side is what ``jobrunner run`` builds from a ``jobs.yaml``
(its registered tasks, its storage classes, its worker: at-least-once unless the
row says otherwise); huey's is the application a huey user writes and huey's own
``Worker``. Both sides use the same durability (``fsync: true`` on SQLite, as
huey's default), so the ratio is what the jobrunner layer costs per task.
Medians of ``--runs`` runs, the sides alternating. A private redis-server is
started on a free port.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import huey
from huey.consumer import Worker

import jobrunner
from benchmarks._env import RedisServer
from benchmarks._plain import make_huey, register
from jobrunner.runtime._consumer import make_consumer


def _jobrunner_side(folder: Path, backend: str, target: str, extra: str) -> tuple[Any, Any]:
    location = f"url: '{target}'" if backend == "redis" else f"filename: '{target}'"
    config = folder / f"{backend}-{abs(hash(extra))}.yaml"
    config.write_text(
        "version: 1\n"
        "instances:\n"
        f"  bench: {{backend: {backend}, name: jr{abs(hash(extra))}, {location}{extra}}}\n"
        "tasks:\n"
        "  noop: {function: 'benchmarks._tasks:noop'}\n",
        encoding="utf-8",
    )
    app = jobrunner.load(config)
    app.bind()
    app_huey = app.huey("bench")
    consumer = make_consumer(
        app_huey,
        app.config.instances["bench"].consumer,
        instance=app.config.instances["bench"],
    )
    delivery = getattr(consumer, "delivery", None)
    if delivery is not None:
        delivery.start()
    worker = consumer._create_worker()
    worker.initialize()
    enqueue: Callable[[], Any] = app.tasks.noop
    return (app_huey, enqueue, worker), delivery


def _huey_side(backend: str, target: str) -> tuple[huey.Huey, Callable[[], Any], Worker]:
    app_huey = make_huey(backend, target, "plain")
    noop = register(app_huey)["noop"]
    worker = Worker(app_huey, threading.Event(), 0.1, 10.0, 1.15)
    worker.initialize()
    return app_huey, noop, worker


def _drain(side: tuple[huey.Huey, Callable[[], Any], Any], tasks: int) -> tuple[float, float]:
    """Wall and CPU microseconds per task of one drain."""
    app_huey, enqueue, worker = side
    app_huey.storage.flush_queue()
    for _ in range(tasks):
        enqueue()
    storage = app_huey.storage
    wall, cpu = time.perf_counter(), time.process_time()
    # The same loop for both: queue_size() costs both sides the same read per task.
    while storage.queue_size():
        worker.loop()
    return (
        (time.perf_counter() - wall) / tasks * 1e6,
        (time.process_time() - cpu) / tasks * 1e6,
    )


CASES = (
    ("redis", "at-least-once (default)", ""),
    ("sqlite", "fsync: true, at-least-once (default)", ", fsync: true"),
    ("sqlite", "fsync: true, at_most_once", ", fsync: true, delivery: at_most_once"),
)


def _rows(folder: Path, tasks: int, runs: int) -> list[str]:
    """One table row per case: both sides drained `runs` times, alternating first."""
    redis_server = RedisServer(folder)
    redis_server.start()
    rows = []
    try:
        for backend, label, extra in CASES:
            target = redis_server.url if backend == "redis" else str(folder / "jr.db")
            plain_target = redis_server.url if backend == "redis" else str(folder / "huey.db")
            ours, delivery = _jobrunner_side(folder, backend, target, extra)
            theirs = _huey_side(backend, plain_target)
            walls: dict[str, list[float]] = {"jobrunner": [], "huey": []}
            cpus: dict[str, list[float]] = {"jobrunner": [], "huey": []}
            _drain(ours, min(200, tasks))  # warm connections, imports and files
            _drain(theirs, min(200, tasks))
            for run in range(runs):
                order = [("jobrunner", ours), ("huey", theirs)]
                for name, side in order if run % 2 == 0 else order[::-1]:
                    wall, cpu = _drain(side, tasks)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            if delivery is not None:
                delivery.stop()
            jr_wall, hu_wall = (statistics.median(walls[n]) for n in ("jobrunner", "huey"))
            jr_cpu, hu_cpu = (statistics.median(cpus[n]) for n in ("jobrunner", "huey"))
            rows.append(
                f"| {backend} | {label} | {jr_wall:.0f} us | {hu_wall:.0f} us | "
                f"{hu_wall / jr_wall:.2f}x | {jr_cpu:.0f} us | {hu_cpu:.0f} us | "
                f"{jr_cpu / hu_cpu:.2f}x |"
            )
    finally:
        redis_server.stop()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_loop")
    parser.add_argument("--quick", action="store_true", help="1,000 tasks, 3 runs")
    parser.add_argument("--tasks", type=int, default=None, help="tasks per drain (4,000)")
    parser.add_argument("--runs", type=int, default=None, help="drains per side (7)")
    args = parser.parse_args(argv)
    tasks = args.tasks or (1_000 if args.quick else 4_000)
    runs = args.runs or (3 if args.quick else 7)
    logging.disable(logging.CRITICAL)  # both workers log each task; not the loop's cost
    with tempfile.TemporaryDirectory(prefix="jobrunner-loop-") as tmp:
        rows = _rows(Path(tmp), tasks, runs)
    print(
        f"{tasks:,} no-op tasks per drain, one worker's loop in one process, median of "
        f"{runs} drains per side. Throughput ratio: huey's time per task over jobrunner's "
        "(above 1: jobrunner is faster); CPU ratio: jobrunner's CPU per task over huey's "
        "(below 1: jobrunner is cheaper).\n"
    )
    print(
        "| backend | jobrunner setting | jobrunner wall/task | huey wall/task | "
        "throughput ratio | jobrunner CPU/task | huey CPU/task | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
