"""Schedule firing lag against the number of schedules, jobrunner and plain huey.

    python -m benchmarks.schedule_scale [--sizes 100,1000,10000] [--runners 1,3]
                                        [--backend redis|postgres|sqlite ...] [--no-huey]

For each size N, runner count R and backend: N schedules that all fire every minute,
R ``jobrunner run`` processes (4 thread workers each) on one storage (a private
``redis-server``, a private PostgreSQL database of ``JOBRUNNER_TEST_PG``'s server, or one SQLite
file). Once every runner is up, the next minute is measured: the lag of a run is when it was
enqueued after the minute, the ``lag`` of its ``fired`` event in the instance's history
(p50 / p99 / max over the N runs), and every schedule must have been enqueued exactly once
across the runners. The runners keep the default logging (above 100 runs, one summary line per
tick; a line per run only at DEBUG). Plain huey (``--no-huey`` to skip) runs
N ``@huey.periodic_task(crontab())`` in one ``huey_consumer``-style process: huey checks every
60 s counted from its start, so its lag is wherever in the minute that falls, and R consumers
would enqueue every task R times. Each setup gets a minute of its own.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._env import RedisServer, child_env, jobrunner_command
from benchmarks._pg import private_database
from benchmarks._stats import percentile

HUEY_ENQUEUED = re.compile(
    r"^\[(\S+ \S+)\] INFO:huey\.consumer\.Scheduler:\S+:Enqueueing periodic", re.M
)

PLAIN_APP = """
from huey import {cls}, crontab
from benchmarks._tasks import noop

huey = {cls}("plain", {kwargs})
for i in range({size}):
    huey.periodic_task(crontab(), name=f"s{{i}}")(noop)
"""


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _instance(backend: str, where: str) -> str:
    key = {"redis": "url", "postgres": "dsn", "sqlite": "filename"}[backend]
    return f"backend: {backend}\n    {key}: {where}\n    name: q{time.monotonic_ns()}"


def _config(path: Path, backend: str, where: str, size: int) -> None:
    lines = ["version: 1", "instances:", "  main:", f"    {_instance(backend, where)}"]
    lines += ["    consumer: {workers: 4}", "schedules:"]
    lines += [
        f"  s{i}: {{function: benchmarks._tasks:noop, cron: '* * * * *'}}" for i in range(size)
    ]
    path.write_text("\n".join(lines) + "\n")


def _start(command: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=cwd, env=child_env(), stdout=out, stderr=out)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _summary(lags: list[float], size: int, counts: Counter[str] | None) -> list[str]:
    if not lags:
        return ["-", "-", "-", "0"]
    lags.sort()
    once = "-" if counts is None else ("yes" if set(counts.values()) == {1} else "NO")
    return [
        f"{percentile(lags, 50):.2f}",
        f"{percentile(lags, 99):.2f}",
        f"{lags[-1]:.2f}",
        f"{len(lags)}/{size}" + ("" if counts is None else f", exactly once: {once}"),
    ]


def measure_jobrunner(folder: Path, backend: str, where: str, size: int, runners: int) -> list[str]:
    import jobrunner

    config = folder / f"jr-{backend}-{size}-{runners}.yaml"
    _config(config, backend, where, size)
    logs = [folder / f"{config.stem}-{i}.log" for i in range(runners)]
    with jobrunner.load(str(config)) as app:  # reads the history: loaded before any runner
        return _measure(app, config, logs, size)


def _measure(app: Any, config: Path, logs: list[Path], size: int) -> list[str]:
    processes = [
        _start([*jobrunner_command(), "run", str(config)], log, config.parent) for log in logs
    ]
    try:
        deadline = time.monotonic() + 600
        while not all("schedule(s) decided" in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError("a runner did not start:\n" + logs[0].read_text()[-2000:])
            time.sleep(0.1)
        tick = (int(time.time()) // 60 + 1) * 60
        label = datetime.fromtimestamp(tick, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        deadline = time.monotonic() + (tick - time.time()) + 120
        while time.monotonic() < deadline:
            if time.time() > tick + 3 and len(_fired(app, tick, label)) >= size:
                break
            time.sleep(1)
        time.sleep(2)  # a run fired twice would show up by now
    finally:
        _stop(processes)
    found = _fired(app, tick, label)  # with what the runners flushed as they stopped
    lags = [float((event.data or {})["lag"]) for event in found]
    return _summary(lags, size, Counter(event.schedule for event in found))


def _fired(app: Any, tick: float, label: str) -> list[Any]:
    """The ``fired`` events of tick ``label`` in the history, one per enqueued run."""
    events = app.history(status="fired", since=tick - 1, limit=10**7)
    return [event for event in events if event.tick == label]


def measure_huey(folder: Path, backend: str, where: str, size: int) -> list[str]:
    cls = {"redis": "RedisHuey", "postgres": "PostgresHuey", "sqlite": "SqliteHuey"}[backend]
    key = {"redis": "url", "postgres": "dsn", "sqlite": "filename"}[backend]
    module = folder / f"plain_{backend}_{size}.py"
    module.write_text(PLAIN_APP.format(cls=cls, kwargs=f"{key}={where!r}", size=size))
    log = folder / f"{module.stem}.log"
    process = _start(
        [sys.executable, "-m", "huey.bin.huey_consumer", f"{module.stem}.huey", "-w", "4"],
        log,
        folder,
    )
    try:
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline and len(HUEY_ENQUEUED.findall(log.read_text())) < size:
            time.sleep(0.5)
    finally:
        _stop([process])
    stamps = [_stamp(s) for s in HUEY_ENQUEUED.findall(log.read_text())]
    return _summary([s - (s // 60) * 60 for s in stamps[:size]], size, None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.schedule_scale")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runners", default="1,3")
    parser.add_argument(
        "--backend", action="append", choices=("redis", "postgres", "sqlite"), default=[]
    )
    parser.add_argument("--no-huey", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    runner_counts = [int(r) for r in args.runners.split(",")]
    backends = args.backend or ["redis", "postgres", "sqlite"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        places = {}
        for backend in backends:
            if backend == "redis":
                server = RedisServer(folder)
                server.start()
                stack.callback(server.stop)
                places[backend] = server.url
            elif backend == "postgres":
                places[backend] = stack.enter_context(private_database())
            else:
                places[backend] = str(folder / "queue.db")
        for size in sizes:
            for backend in backends:
                for runners in runner_counts:
                    row = measure_jobrunner(folder, backend, places[backend], size, runners)
                    rows.append([backend, str(size), f"jobrunner, {runners} runner(s)", *row])
                    print(" | ".join(rows[-1]), file=sys.stderr)
                if not args.no_huey:
                    row = measure_huey(folder, backend, places[backend], size)
                    rows.append([backend, str(size), "plain huey, 1 consumer", *row])
                    print(" | ".join(rows[-1]), file=sys.stderr)
    print("lag of each run after its minute, seconds\n")
    print("| backend | schedules | setup | p50 | p99 | max | runs |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
