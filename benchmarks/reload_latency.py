"""Hot-reload latency: from saving jobs.yaml to the new configuration being active.

    python -m benchmarks.reload_latency [--quick] [--edits N] [--size N ...] [--poll SECONDS]

Starts a real ``jobrunner run`` (SQLite, one worker) on a generated file, then
saves the file ``--edits`` times the way editors do (write a temporary file,
rename it over), each time changing one task's ``retries``. The latency of one
edit is from the rename to the ``reloaded ... (generation N)`` log line, which
the runner writes once the change is registered on the live huey objects: the
watcher's debounce, reading, validating and importing the whole file, the diff
and the registry swap. Sizes: a small file (3 tasks, 2 schedules) and one of
1,000 tasks + 1,000 schedules. Prints a Markdown table (median and p95).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from benchmarks._env import child_env, jobrunner_command
from benchmarks._stats import percentile

SIZES = (3, 1000)  # tasks; as many schedules, but 2 for the small file
PAUSE = 0.3  # between edits, so that two edits are never one burst


def build(tasks: int, retries: int, db: Path) -> str:
    """A jobs.yaml: ``tasks`` tasks, as many schedules (2 when small); ``t0`` has ``retries``."""
    schedules = tasks if tasks >= 100 else 2
    lines = [
        "version: 1",
        "instances:",
        "  default:",
        "    backend: sqlite",
        f"    filename: {db}",
        "    consumer: {workers: 1}",
        "tasks:",
    ]
    for i in range(tasks):
        lines += [f"  t{i}:", "    function: benchmarks._tasks:noop"]
        if i == 0:
            lines.append(f"    retries: {retries}")
    lines.append("schedules:")
    for i in range(schedules):
        # Spread over the hours of one day, once a day: they are parsed and registered but
        # never fire during the benchmark.
        lines += [
            f"  s{i}:",
            "    function: benchmarks._tasks:noop",
            f"    cron: '{i % 60} {i % 24} 1 1 *'",
        ]
    return "\n".join(lines) + "\n"


def measure(folder: Path, tasks: int, edits: int, poll: float | None) -> list[float]:
    """Seconds from each save to its reload line, for ``edits`` saves."""
    config = folder / "jobs.yaml"
    db = folder / "queue.db"
    config.write_text(build(tasks, 0, db))
    log = folder / "runner.log"
    command = [*jobrunner_command(), "run", str(config)]
    if poll:
        command += ["--reload-poll", str(poll)]
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, cwd=folder, env=child_env(), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_line(log, "watching ", process, timeout=600)
        latencies = []
        for edit in range(1, edits + 1):
            temp = folder / ".jobs.yaml.tmp"
            temp.write_text(build(tasks, edit, db))
            saved = time.time()
            os.replace(temp, config)
            line = _wait_line(log, f"(generation {edit + 1})", process, timeout=120)
            latencies.append(_stamp(line) - saved)
            time.sleep(PAUSE)
        return latencies
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if text in line:
                return line
        if process.poll() is not None:
            raise RuntimeError(f"jobrunner run exited ({process.returncode}):\n{log.read_text()}")
        time.sleep(0.005)
    raise RuntimeError(f"{text!r} not logged within {timeout}s:\n{log.read_text()[-3000:]}")


def _stamp(line: str) -> float:
    # The run command's log format starts with asctime: "2024-05-01 12:00:00,123".
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reload_latency")
    parser.add_argument("--quick", action="store_true", help="5 edits per size instead of 20")
    parser.add_argument("--edits", type=int, help="edits per file size (default 20)")
    parser.add_argument(
        "--size", type=int, action="append", help="tasks in the file (repeatable; 3 and 1000)"
    )
    parser.add_argument("--poll", type=float, help="run with --reload-poll SECONDS")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    edits = args.edits or (5 if args.quick else 20)
    sizes = args.size or list(SIZES)
    rows = []
    for tasks in sizes:
        with tempfile.TemporaryDirectory(prefix="reload-bench-") as folder:
            print(f"reload latency: {tasks} tasks, {edits} edits ...", file=sys.stderr)
            latencies = measure(Path(folder), tasks, edits, args.poll)
        schedules = tasks if tasks >= 100 else 2
        ms = [1000 * value for value in latencies]
        rows.append(
            f"| {tasks:,} tasks + {schedules:,} schedules | {len(ms)} | "
            f"{percentile(ms, 50):,.0f} ms | {percentile(ms, 95):,.0f} ms | {max(ms):,.0f} ms |"
        )
    how = f"polling every {args.poll:g} s" if args.poll else "native file events (inotify)"
    print(f"Save (write temp + rename) to `reloaded` log line, {how}:\n")
    print("| file | edits | median | p95 | max |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
