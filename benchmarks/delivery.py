"""Drain throughput on Redis: plain huey's worker against jobrunner's at-least-once worker.

    python -m benchmarks.delivery [--quick] [--tasks N] [--runs N] [--redis-url URL]

Enqueues N no-op tasks, starts a consumer with 4 thread workers in this
process, and times until every task ran; median of ``--runs`` runs per side, the
two sides alternating so that both see the same machine load. Prints a
Markdown table with the ratio (the target of docs/delivery.md: >= 0.85).
A private redis-server is started on a free port unless ``--redis-url`` is given.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import huey
from huey.consumer import Consumer

from jobrunner.config.model import ConsumerConfig, InstanceConfig, Location
from jobrunner.runtime._consumer import consumer_options, make_consumer

WORKERS = 4


def _settings(workers: int) -> ConsumerConfig:
    return ConsumerConfig(workers=workers, worker_type="thread", periodic=False)


def _plain(app_huey: huey.Huey, workers: int) -> Consumer:
    consumer: Consumer = app_huey.create_consumer(**consumer_options(_settings(workers)))
    return consumer


def _jobrunner(app_huey: huey.Huey, workers: int) -> Consumer:
    instance = InstanceConfig(
        name=app_huey.name,
        backend="redis",
        location=Location("benchmark", 0, 0),
        queue_name=app_huey.name,
        delivery="at_least_once",
    )
    return make_consumer(app_huey, _settings(workers), instance=instance)


class Drain:
    """One drain: its throughput and the CPU it cost, in this process and in redis-server."""

    def __init__(self, rate: float, cpu_us: float, redis_us: float) -> None:
        self.rate = rate
        self.cpu_us = cpu_us
        self.redis_us = redis_us


def _redis_cpu(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def drain_once(
    url: str, name: str, tasks: int, workers: int, build: Callable[[huey.Huey, int], Consumer]
) -> Drain:
    """Drain ``tasks`` no-op tasks with the consumer ``build`` makes."""
    app_huey = huey.RedisHuey(name, url=url)
    done = itertools.count(1)
    finished = [0]

    @app_huey.task(name="noop")
    def noop() -> None:
        finished[0] = next(done)

    conn = app_huey.storage.conn
    app_huey.storage.flush_queue()
    pipe = conn.pipeline(transaction=False)
    for _ in range(tasks):
        pipe.lpush(app_huey.storage.queue_key, app_huey.serialize_task(noop.s()))
    pipe.execute()
    consumer = build(app_huey, workers)
    redis_before = _redis_cpu(conn)
    cpu_before = time.process_time()
    started = time.perf_counter()
    consumer.start()
    deadline = time.monotonic() + 600
    while finished[0] < tasks:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: only {finished[0]} of {tasks} tasks ran in 600 s")
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    redis_cpu = _redis_cpu(conn) - redis_before
    consumer.stop(graceful=True)
    conn.flushdb()
    return Drain(tasks / elapsed, cpu / tasks * 1e6, redis_cpu / tasks * 1e6)


SIDES = ("plain huey", "jobrunner at-least-once")


def run(url: str, tasks: int, runs: int, workers: int) -> dict[str, list[Drain]]:
    figures: dict[str, list[Drain]] = {side: [] for side in SIDES}
    builders: list[tuple[str, Callable[[huey.Huey, int], Consumer]]] = [
        (SIDES[0], _plain),
        (SIDES[1], _jobrunner),
    ]
    for run_index in range(runs):
        # Alternate which side goes first, so neither always gets a warm machine.
        for label, build in builders if run_index % 2 == 0 else builders[::-1]:
            drain = drain_once(url, f"bench{run_index}{label[0]}", tasks, workers, build)
            figures[label].append(drain)
            print(
                f"  run {run_index + 1} {label}: {drain.rate:,.0f} tasks/s, "
                f"{drain.cpu_us:.0f} us CPU/task here, {drain.redis_us:.0f} in redis",
                file=sys.stderr,
            )
    return figures


def table(figures: dict[str, list[Drain]], tasks: int, workers: int) -> str:
    plain = statistics.median(d.rate for d in figures[SIDES[0]])
    runs = len(figures[SIDES[0]])
    lines = [
        f"Drain of {tasks:,} no-op tasks on Redis, {workers} thread workers, "
        f"median of {runs} runs (the two sides alternate):",
        "",
        "| consumer | tasks/s per run | median tasks/s | ratio | CPU/task (consumer) "
        "| CPU/task (redis-server) |",
        "|---|---|---|---|---|---|",
    ]
    for side in SIDES:
        drains = figures[side]
        rate = statistics.median(d.rate for d in drains)
        cpu = statistics.median(d.cpu_us for d in drains)
        redis_cpu = statistics.median(d.redis_us for d in drains)
        lines.append(
            f"| {side} | {_runs([d.rate for d in drains])} | {rate:,.0f} | {rate / plain:.2f} "
            f"| {cpu:.0f} us | {redis_cpu:.0f} us |"
        )
    return "\n".join(lines)


def _runs(values: Sequence[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delivery", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 tasks instead of 10,000")
    parser.add_argument("--tasks", type=int, help="tasks per drain")
    parser.add_argument("--runs", type=int, default=3, help="drains per side (median)")
    parser.add_argument("--workers", type=int, default=WORKERS, help="thread workers")
    parser.add_argument("--redis-url", help="use this Redis (its database is flushed!)")
    args = parser.parse_args(argv)
    tasks = args.tasks or (2_000 if args.quick else 10_000)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="jobrunner-bench-delivery-") as tmp:
        server: Any = None
        url = args.redis_url
        if url is None:
            from benchmarks._env import RedisServer

            server = RedisServer(Path(tmp))
            server.start()
            url = server.url
        try:
            figures = run(url, tasks, args.runs, args.workers)
        finally:
            if server is not None:
                server.stop()
    print(table(figures, tasks, args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
