"""What a generated task handle costs per call, against ``app.tasks.X(...)``.

    python -m benchmarks.handles [--quick] [--calls N] [--runs N] [--backend NAME ...]

A ``jobs.yaml`` with one task (``benchmarks._tasks:noop``) is loaded once; its handles
module is generated (``jobrunner generate``'s code) into a temporary folder and imported.
Each run times N enqueues through ``app.tasks.noop()`` and N through the generated
``noop()``, in this process, in ten alternating slices per side; the queue is flushed
between slices. The table gives the median microseconds per call of each side
over the runs and their ratio (target: 1.05x at most, docs/performance.md). Memory
storage shows the handle's own cost most (an enqueue there is a few microseconds); a
private redis-server is started on a free port for the Redis row.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jobrunner
from benchmarks._env import RedisServer
from jobrunner.handles._generate import generate

BACKENDS = ("memory", "sqlite", "redis")
SLICES = 10


def _project(folder: Path, backend: str, redis_url: str | None) -> tuple[Any, Any]:
    """The loaded app and the generated module, both on one instance of ``backend``."""
    location = {"sqlite": ", filename: bench.db", "redis": f", url: '{redis_url}'"}
    config = folder / f"{backend}.yaml"
    config.write_text(
        "version: 1\n"
        f"instances:\n  bench: {{backend: {backend}{location.get(backend, '')}}}\n"
        "tasks:\n  noop: {function: 'benchmarks._tasks:noop'}\n",
        encoding="utf-8",
    )
    app = jobrunner.load(config)
    output = folder / f"{backend}_jobs.py"
    output.write_text(generate(app.config, output).text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"{backend}_jobs", output)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.bind(app)  # the same huey object on both sides: only the call path differs
    return app, module


def _through_app(app: Any, calls: int) -> float:
    """Microseconds per ``app.tasks.noop()`` over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        app.tasks.noop()
    return (time.perf_counter() - started) / calls * 1e6


def _through_handle(noop: Callable[[], Any], calls: int) -> float:
    """Microseconds per generated ``noop()`` over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        noop()
    return (time.perf_counter() - started) / calls * 1e6


def measure(app: Any, module: Any, calls: int, runs: int) -> tuple[list[float], list[float]]:
    """Per run, microseconds per call of each side.

    A run alternates the sides in ten slices of ``calls / 10`` (the order flipping each
    run), so a burst of load from the rest of the machine falls on both sides alike.
    """
    app.tasks.noop()
    module.noop()  # binds: later calls go straight to huey's TaskWrapper
    piece = max(calls // SLICES, 1)
    plain: list[float] = []
    handle: list[float] = []
    for run in range(runs):
        spent = {"plain": 0.0, "handle": 0.0}
        sides: list[tuple[str, Callable[[], float]]] = [
            ("plain", lambda: _through_app(app, piece)),
            ("handle", lambda: _through_handle(module.noop, piece)),
        ]
        for _ in range(SLICES):
            for side, batch in sides if run % 2 == 0 else reversed(sides):
                app.huey("bench").flush()
                spent[side] += batch() / SLICES
        plain.append(spent["plain"])
        handle.append(spent["handle"])
    return plain, handle


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.handles", description=__doc__)
    parser.add_argument("--calls", type=int, default=5000, help="enqueues per batch")
    parser.add_argument("--runs", type=int, default=5, help="batches per side")
    parser.add_argument("--quick", action="store_true", help="500 calls, 3 runs")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="repeatable")
    args = parser.parse_args(argv)
    calls, runs = (500, 3) if args.quick else (args.calls, args.runs)
    backends = args.backend or list(BACKENDS)
    print(f"Generated handle call against app.tasks.X(): {calls} calls x {runs} runs per side")
    print()
    print("| backend | app.tasks.noop() | generated noop() | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="jobrunner-handles-") as temporary:
        folder = Path(temporary)
        server = RedisServer(folder / "redis") if "redis" in backends else None
        if server is not None:
            (folder / "redis").mkdir()
            server.start()
        try:
            for backend in backends:
                app, module = _project(folder, backend, server.url if server else None)
                with app:
                    plain, handle = measure(app, module, calls, runs)
                a, b = statistics.median(plain), statistics.median(handle)
                print(f"| {backend} | {a:.2f} us | {b:.2f} us | {b / a:.3f}x |")
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
