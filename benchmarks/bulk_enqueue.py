"""Bulk enqueue: ``.map()`` in batches against one call per task, on Redis, SQLite, PostgreSQL.

    python -m benchmarks.bulk_enqueue [--tasks N] [--repeats R] [--backend redis|sqlite|postgres]

In one run, per backend, the producer (this process) enqueues ``--tasks`` no-op tasks with:
plain huey one by one (``task(i)`` in a loop) and huey's ``.map()``; jobrunner one by one
(``app.tasks.noop(i)``) and ``app.tasks.noop.map(items, batch_size=B)`` for B = 1, 100, 1000.
No consumer runs; the queue is emptied between runs. Each figure is the median of
``--repeats`` runs (min-max in brackets), the setups taking turns; the last column divides by
jobrunner's one-by-one rate of the same run. Redis runs on a private ``redis-server``,
PostgreSQL in a private database of ``JOBRUNNER_TEST_PG``'s server, SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks._env import RedisServer
from benchmarks._pg import private_database
from benchmarks._stats import Measure

BATCHES = (1, 100, 1000)


def _instance(backend: str, where: str) -> tuple[str, dict[str, Any]]:
    """(jobs.yaml instance keys, plain huey keyword arguments) for ``backend``."""
    if backend == "redis":
        return f"backend: redis\n    url: {where}", {"url": where}
    if backend == "postgres":
        return f"backend: postgres\n    dsn: {where}", {"dsn": where}
    return f"backend: sqlite\n    filename: {where}", {"filename": where}


def _setups(
    backend: str, where: str, folder: Path
) -> tuple[dict[str, Callable[[int], None]], Callable[[], None]]:
    """The setups to time, and the flush of both queues that each run starts from."""
    import huey

    import jobrunner
    from benchmarks._tasks import noop

    keys, kwargs = _instance(backend, where)
    config = folder / f"{backend}.yaml"
    config.write_text(
        f"version: 1\ninstances:\n  main:\n    {keys}\n    name: jr\n"
        "tasks:\n  noop:\n    function: benchmarks._tasks:noop\n"
    )
    app = jobrunner.load(config)
    classes = {"redis": huey.RedisHuey, "sqlite": huey.SqliteHuey, "postgres": huey.PostgresHuey}
    plain = classes[backend]("plain", **kwargs)
    task = plain.task()(noop)
    handle = app.tasks.noop

    def flush() -> None:
        app.huey("main").storage.flush_queue()
        plain.storage.flush_queue()

    def loop(call: Callable[[int], Any]) -> Callable[[int], None]:
        def run(n: int) -> None:
            for i in range(n):
                call(i)

        return run

    setups: dict[str, Callable[[int], None]] = {
        "huey, one by one": loop(lambda i: task()),
        "huey .map()": lambda n: task.map([() for _ in range(n)]),
        "jobrunner, one by one": loop(lambda i: handle()),
    }
    for size in BATCHES:
        setups[f"jobrunner .map(), batch {size}"] = lambda n, size=size: handle.map(
            [() for _ in range(n)], batch_size=size
        )
    return setups, flush


def measure(backend: str, where: str, folder: Path, tasks: int, repeats: int) -> list[list[str]]:
    setups, flush = _setups(backend, where, folder)
    rates: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(repeats):
        for name, run in setups.items():
            # Outside the timing: deleting the previous setup's 10,000 messages took longer
            # than a batched enqueue of as many, and made the fast setups look slower.
            flush()
            start = time.perf_counter()
            run(tasks)
            rates[name].append(tasks / (time.perf_counter() - start))
    base = Measure.of(rates["jobrunner, one by one"], "rate").median
    rows = []
    for name, values in rates.items():
        found = Measure.of(values, "rate")
        rows.append([backend, name, found.format(), f"{found.median / base:.2f}x"])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bulk_enqueue")
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--backend", action="append", choices=("redis", "sqlite", "postgres"), default=[]
    )
    args = parser.parse_args(argv)
    backends = args.backend or ["redis", "sqlite", "postgres"]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        for backend in backends:
            if backend == "redis":
                server = RedisServer(folder)
                server.start()
                stack.callback(server.stop)
                where = server.url
            elif backend == "postgres":
                where = stack.enter_context(private_database())
            else:
                where = str(folder / "queue.db")
            rows += measure(backend, where, folder, args.tasks, args.repeats)
    print(f"{args.tasks} tasks per run, median of {args.repeats} (min-max), tasks/s\n")
    print("| backend | how | rate | vs jobrunner one by one |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
