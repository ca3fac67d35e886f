"""Drain throughput with the HTTP endpoint on and scraped every second, against it off.

    python -m benchmarks.metrics_endpoint [--quick] [--tasks N] [--runs N] [--backend B]

For each backend (a private redis-server on a free port, and SQLite in a temporary folder),
enqueues N no-op tasks, starts the real runner (``jobrunner.runtime.Runner``, 4 thread
workers, at-least-once delivery, events on as always) in this process and times until every
task ran. "endpoint on" adds ``--http 127.0.0.1:PORT``, and a separate process
scrapes ``/metrics`` and ``/readyz`` every second during the drain, as Prometheus and a
kubelet would. The two sides alternate; the table has the median of ``--runs`` runs per
side and the ratio (the target of docs/operations.md: >= 0.95).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jobrunner
from benchmarks._env import free_port
from jobrunner.runtime import Runner, RunOptions

WORKERS = 4
SIDES = ("endpoint off", "endpoint on, scraped every 1 s")

TASKS_MODULE = """
import itertools

_count = itertools.count(1)
done = [0]


def noop():
    done[0] = next(_count)
"""

# The scraper: a separate process, so only the runner's own cost is measured.
SCRAPER = """
import sys, time, urllib.request
url = sys.argv[1]
scrapes = 0
while True:
    started = time.monotonic()
    for path in ("/metrics", "/readyz"):
        try:
            urllib.request.urlopen(url + path, timeout=5).read()
        except Exception:
            pass
    scrapes += 1
    print(scrapes, flush=True)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
"""


def _config(folder: Path, backend: str, url: str | None, run: int) -> Path:
    if backend == "redis":
        instance = (
            f"backend: redis\n    url: {url}\n    name: bench{run}\n"
            "    serializer: {secret: benchmark-secret}"
        )
    else:
        instance = f"backend: sqlite\n    filename: {folder / f'bench{run}.db'}"
    path = folder / f"jobs{run}.yaml"
    path.write_text(
        f"version: 1\ninstances:\n  main:\n    {instance}\n"
        f"    consumer: {{workers: {WORKERS}, worker_type: thread, periodic: false}}\n"
        "tasks:\n  noop: {function: bench_noop:noop}\n",
        encoding="utf-8",
    )
    return path


class Drain:
    """One drain: tasks per second, CPU per task in the runner's process, scrapes during it."""

    def __init__(self, rate: float, cpu_us: float, scrapes: int) -> None:
        self.rate = rate
        self.cpu_us = cpu_us
        self.scrapes = scrapes


def drain_once(
    folder: Path, backend: str, url: str | None, tasks: int, endpoint: bool, run: int
) -> Drain:
    """One drain of ``tasks`` no-op tasks, with the endpoint on (and scraped) or off."""
    import bench_noop  # type: ignore[import-not-found]

    config = _config(folder, backend, url, run)
    port = free_port()
    with jobrunner.load(config) as app:
        for _ in range(tasks):
            app.tasks.noop()
    bench_noop._count = itertools.count(1)
    bench_noop.done[0] = 0
    http = f"127.0.0.1:{port}" if endpoint else None
    runner = Runner(str(config), RunOptions(reload=False, http=http))
    scraper: subprocess.Popen[str] | None = None
    if endpoint:
        # Started (and its interpreter loaded) before the clock starts: only the scrapes count.
        scraper = subprocess.Popen(
            [sys.executable, "-c", SCRAPER, f"http://127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert scraper.stdout is not None
        scraper.stdout.readline()  # its first (failed) round: it is running
    started = time.perf_counter()
    cpu = time.process_time()
    runner.start()
    try:
        deadline = time.monotonic() + 600
        while bench_noop.done[0] < tasks:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {bench_noop.done[0]} of {tasks} tasks ran in 600 s")
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        scrapes = 0
        if scraper is not None:
            scraper.terminate()
            out, _ = scraper.communicate(timeout=10)
            scrapes = len(out.split())  # rounds after the first
        runner.stop()
    return Drain(tasks / elapsed, cpu / tasks * 1e6, scrapes)


def run(
    folder: Path, backend: str, url: str | None, tasks: int, runs: int
) -> dict[str, list[Drain]]:
    figures: dict[str, list[Drain]] = {side: [] for side in SIDES}
    order = [(SIDES[0], False), (SIDES[1], True)]
    for index in range(runs):
        # Alternate which side goes first, so neither always gets a warm machine.
        for side, endpoint in order if index % 2 == 0 else order[::-1]:
            label = index * 2 + int(endpoint)  # a queue (and database) per drain
            drain = drain_once(folder, backend, url, tasks, endpoint, label)
            figures[side].append(drain)
            print(
                f"  {backend} run {index + 1} {side}: {drain.rate:,.0f} tasks/s, "
                f"{drain.cpu_us:.0f} us CPU/task, {drain.scrapes} scrapes",
                file=sys.stderr,
            )
    return figures


def table(results: dict[str, dict[str, list[Drain]]], tasks: int) -> str:
    runs = len(next(iter(results.values()))[SIDES[0]])
    lines = [
        f"Drain of {tasks:,} no-op tasks, {WORKERS} thread workers, median of {runs} runs per "
        "side (the sides alternate):",
        "",
        "| backend | endpoint | tasks/s per run | median tasks/s | ratio | CPU/task | CPU ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, figures in results.items():
        off = statistics.median(d.rate for d in figures[SIDES[0]])
        off_cpu = statistics.median(d.cpu_us for d in figures[SIDES[0]])
        for side in SIDES:
            rate = statistics.median(d.rate for d in figures[side])
            cpu = statistics.median(d.cpu_us for d in figures[side])
            each = ", ".join(f"{d.rate:,.0f}" for d in figures[side])
            lines.append(
                f"| {backend} | {side} | {each} | {rate:,.0f} | {rate / off:.2f} "
                f"| {cpu:.0f} us | {cpu / off_cpu:.2f} |"
            )
    return "\n".join(lines)


SCRAPES = 50


def scrape_cost(folder: Path, backend: str, url: str | None) -> dict[str, float]:
    """CPU (ms, this process: server and a urllib client) of one request to each path, with
    the runner idle after a drain; ``/metrics`` with the snapshot cached and taken afresh."""
    config = _config(folder, backend, url, 99)
    with jobrunner.load(config) as app:
        for _ in range(1000):
            app.tasks.noop()
    runner = Runner(str(config), RunOptions(reload=False, http=f"127.0.0.1:{free_port()}"))
    runner.start()
    costs: dict[str, float] = {}
    try:
        assert runner.endpoint is not None
        base = runner.endpoint.server.url
        collector = runner.endpoint.metrics.collector
        time.sleep(3)  # the drain is over and the history written

        def per_request(path: str) -> float:
            urllib.request.urlopen(base + path).read()
            cpu = time.process_time()
            for _ in range(SCRAPES):
                urllib.request.urlopen(base + path).read()
            return (time.process_time() - cpu) / SCRAPES * 1e3

        collector.cache_seconds = 3600.0
        costs["/metrics (snapshot cached)"] = per_request("/metrics")
        collector.cache_seconds = 0.0
        costs["/metrics (snapshot taken)"] = per_request("/metrics")
        costs["/readyz"] = per_request("/readyz")
        costs["/healthz"] = per_request("/healthz")
    finally:
        runner.stop()
    return costs


def subscriber_cost(runs: int = 10_000) -> float:
    """Microseconds of the event dispatcher thread per run (a started and a complete event)
    that the metrics' event subscriber takes to count it."""
    from types import SimpleNamespace

    from jobrunner.events import COMPLETE, STARTED, Event
    from jobrunner.web import Metrics

    metrics = Metrics(SimpleNamespace(consumers={}))  # type: ignore[arg-type]
    batch = []
    for i in range(runs):
        batch.append(Event(STARTED, time.time(), instance="main", id=str(i), task="noop"))
        batch.append(
            Event(COMPLETE, time.time(), instance="main", id=str(i), task="noop", duration=1e-3)
        )
    try:
        cpu = time.process_time()
        metrics.on_events(batch)
        return (time.process_time() - cpu) / runs * 1e6
    finally:
        metrics.close()


def cost_table(costs: dict[str, dict[str, float]]) -> str:
    lines = [
        f"CPU per request, mean of {SCRAPES} (server and a urllib client in one process; "
        "the queue holds 1,000 finished runs of history):",
        "",
        "| backend | " + " | ".join(next(iter(costs.values()))) + " |",
        "|---|" + "---|" * len(next(iter(costs.values()))),
    ]
    for backend, figures in costs.items():
        lines.append(f"| {backend} | " + " | ".join(f"{v:.1f} ms" for v in figures.values()) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.metrics_endpoint", description=__doc__
    )
    parser.add_argument("--quick", action="store_true", help="2,000 tasks instead of 10,000")
    parser.add_argument("--tasks", type=int, help="tasks per drain")
    parser.add_argument("--runs", type=int, default=3, help="drains per side (median)")
    parser.add_argument("--backend", action="append", choices=("redis", "sqlite"), default=[])
    args = parser.parse_args(argv)
    tasks = args.tasks or (2_000 if args.quick else 10_000)
    backends = args.backend or ["redis", "sqlite"]
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, dict[str, list[Drain]]] = {}
    costs: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="jobrunner-bench-metrics-") as tmp:
        folder = Path(tmp)
        (folder / "bench_noop.py").write_text(TASKS_MODULE)
        sys.path.insert(0, str(folder))
        server: Any = None
        try:
            for backend in backends:
                url = None
                if backend == "redis":
                    from benchmarks._env import RedisServer

                    server = RedisServer(folder)
                    server.start()
                    url = server.url
                results[backend] = run(folder, backend, url, tasks, args.runs)
                costs[backend] = scrape_cost(folder, backend, url)
        finally:
            if server is not None:
                server.stop()
    print(table(results, tasks))
    print()
    print(cost_table(costs))
    print()
    print(f"Counting one run from its events: {subscriber_cost():.1f} us (dispatcher thread).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
