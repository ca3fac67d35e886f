"""Schedules: how late after the minute a run starts, and how many runs each tick gets.

    python -m benchmarks.schedule_offset [--ticks N] [--backend redis|sqlite] [--json FILE]

Starts, side by side in one run against one private redis-server (or one SQLite file per
setup):

- jobrunner, 1 runner and 3 runners: ``jobrunner run`` with an every-minute schedule;
- plain huey 3.5, 1 consumer and 3 consumers: ``huey_consumer`` with an every-minute
  ``@huey.periodic_task(crontab())``.

Every setup has its own queue. Each run appends the wall-clock time at which its task started
to a file; afterwards, for each of the ``--ticks`` whole minutes during which every process was
up, it reports the offset after the minute (median and max: time from hh:mm:00 to the task
starting, so queue pick-up included) and the number of runs per tick. Processes start at
whatever second the benchmark happens to start at, as in real life.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._env import RedisServer, child_env, jobrunner_command, machine

TASKS = """
import json, os, time


def record(path):
    # The first thing the run does: when it started, by which process.
    line = json.dumps({"time": time.time(), "pid": os.getpid()})
    with open(path, "a") as fh:
        fh.write(line + "\\n")
"""

PLAIN_APP = """
from huey import {cls}, crontab

import bench_tasks

huey = {cls}({name!r}, {storage})


@huey.periodic_task(crontab())
def tick():
    bench_tasks.record({out!r})
"""


@dataclass
class Setup:
    """One system under test: a label, how many processes, where its runs are recorded."""

    label: str
    runners: int
    out: Path
    commands: list[list[str]]
    processes: list[subprocess.Popen[bytes]]


def _storage(backend: str, redis_url: str | None, folder: Path, name: str) -> tuple[str, str]:
    """(jobs.yaml instance keys, plain huey keyword arguments) for ``backend``."""
    if backend == "redis":
        return f"backend: redis\n    url: {redis_url}", f"url={redis_url!r}"
    db = folder / f"{name}.db"
    return f"backend: sqlite\n    filename: {db}", f"filename={str(db)!r}"


def build(folder: Path, backend: str, redis_url: str | None) -> list[Setup]:
    (folder / "bench_tasks.py").write_text(TASKS)
    setups = []
    for runners in (1, 3):
        name = f"jobrunner{runners}"
        out = folder / f"{name}.jsonl"
        instance, _ = _storage(backend, redis_url, folder, name)
        config = folder / f"{name}.yaml"
        config.write_text(
            "version: 1\n"
            "instances:\n"
            "  main:\n"
            f"    {instance}\n"
            f"    name: {name}\n"
            "    consumer: {workers: 2}\n"
            "schedules:\n"
            "  tick:\n"
            "    function: bench_tasks:record\n"
            '    cron: "* * * * *"\n'
            f'    args: ["{out}"]\n'
        )
        command = [*jobrunner_command(), "run", str(config), "--log-level", "warning"]
        setups.append(
            Setup(f"jobrunner, {runners} runner(s)", runners, out, [command] * runners, [])
        )
    for runners in (1, 3):
        name = f"plain{runners}"
        out = folder / f"{name}.jsonl"
        _, kwargs = _storage(backend, redis_url, folder, name)
        cls = "RedisHuey" if backend == "redis" else "SqliteHuey"
        module = f"bench_{name}"
        (folder / f"{module}.py").write_text(
            PLAIN_APP.format(cls=cls, name=name, storage=kwargs, out=str(out))
        )
        command = [sys.executable, "-m", "huey.bin.huey_consumer", f"{module}.huey", "-w", "2"]
        setups.append(
            Setup(f"plain huey, {runners} consumer(s)", runners, out, [command] * runners, [])
        )
    return setups


def run(setups: list[Setup], folder: Path, ticks: int) -> tuple[float, float]:
    """Start everything, wait for ``ticks`` whole minutes, stop; return the measured window."""
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(folder), env.get("PYTHONPATH", "")])
    logs = []
    try:
        for setup in setups:
            for i, command in enumerate(setup.commands):
                log = open(folder / f"{setup.out.stem}-{i}.log", "w")  # noqa: SIM115
                logs.append(log)
                setup.processes.append(
                    subprocess.Popen(
                        command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        started = time.time()
        # Generous: every process imports and connects within 20 s on a busy 2-core machine.
        first = (int(started + 20) // 60 + 1) * 60
        end = first + ticks * 60
        print(
            f"started at second {started % 60:.1f}; measuring {ticks} tick(s) from "
            f"{time.strftime('%H:%M', time.gmtime(first))} UTC, until "
            f"{time.strftime('%H:%M', time.gmtime(end))} (+20 s)",
            file=sys.stderr,
        )
        while time.time() < end + 20:
            for setup in setups:
                for process in setup.processes:
                    if process.poll() is not None:
                        raise RuntimeError(f"{setup.label}: a process exited early")
            time.sleep(1)
    finally:
        for setup in setups:
            for process in setup.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
        for setup in setups:
            for process in setup.processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in logs:
            log.close()
    return first, end


def measure(setup: Setup, first: float, end: float) -> dict[str, Any]:
    times = []
    if setup.out.exists():
        times = [json.loads(line)["time"] for line in setup.out.read_text().splitlines() if line]
    inside = [t for t in times if first <= t < end]
    per_tick = {tick: 0 for tick in range(int(first), int(end), 60)}
    offsets = []
    for t in inside:
        per_tick[int(t) // 60 * 60] += 1
        offsets.append(t - int(t) // 60 * 60)
    counts = list(per_tick.values())
    return {
        "setup": setup.label,
        "processes": setup.runners,
        "ticks": len(counts),
        "runs": len(inside),
        "runs_per_tick_min": min(counts),
        "runs_per_tick_max": max(counts),
        "offset_median": statistics.median(offsets) if offsets else None,
        "offset_max": max(offsets) if offsets else None,
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| setup | ticks | runs | runs per tick | offset after the minute, median | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        low, high = r["runs_per_tick_min"], r["runs_per_tick_max"]
        per_tick = str(low) if low == high else f"{low}-{high}"
        median = "-" if r["offset_median"] is None else f"{r['offset_median']:.3f} s"
        worst = "-" if r["offset_max"] is None else f"{r['offset_max']:.3f} s"
        lines.append(
            f"| {r['setup']} | {r['ticks']} | {r['runs']} | {per_tick} | {median} | {worst} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.schedule_offset", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--ticks", type=int, default=10, help="whole minutes to measure (10)")
    parser.add_argument("--backend", choices=("redis", "sqlite"), default="redis")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="jobrunner-sched-bench-") as tmp:
        folder = Path(tmp)
        server = RedisServer(folder) if args.backend == "redis" else None
        if server is not None:
            server.start()
        try:
            redis_version = server.version() if server is not None else None
            setups = build(folder, args.backend, server.url if server is not None else None)
            first, end = run(setups, folder, args.ticks)
            results = [measure(setup, first, end) for setup in setups]
        finally:
            if server is not None:
                server.stop()
    print(f"Schedules on {args.backend}, {args.ticks} tick(s), every-minute schedule:\n")
    print(table(results))
    print()
    for key, value in machine(redis_version).items():
        print(f"- {key}: {value}")
    if args.json:
        args.json.write_text(json.dumps({"backend": args.backend, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
