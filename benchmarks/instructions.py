"""Instructions per task under callgrind: jobrunner's hot path against plain huey's.

    python -m benchmarks.instructions [--tasks N]

Time on a shared 2-core machine moves by 5% from run to run; the number of
instructions a process executes does not (valgrind's callgrind counts them, the
same count whatever else the machine does). That is the measure of what the
jobrunner layer itself costs per call, in the process that runs it. It leaves out
what happens elsewhere (the Redis server, the disk): the drain and enqueue tables
of ``python -m benchmarks`` measure those.

Each figure is the count of a child process that enqueues N tasks, or drains N
queued tasks with one worker's ``loop()`` (the same setup as
``benchmarks/worker_loop.py``), minus the count of the same child with 0 tasks
(imports, config load), over N. Needs ``valgrind`` on the PATH; starts a private
redis-server on a free port.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# (label, backend, jobrunner instance settings, what is counted)
CASES = (
    ("redis, enqueue", "redis", "", "enqueue"),
    ("redis, worker loop, at-least-once (default)", "redis", "", "drain"),
    ("sqlite, enqueue, fsync: true", "sqlite", ", fsync: true", "enqueue"),
    (
        "sqlite, worker loop, fsync: true, at_most_once",
        "sqlite",
        ", fsync: true, delivery: at_most_once",
        "drain",
    ),
    (
        "sqlite, worker loop, fsync: true, at-least-once (default)",
        "sqlite",
        ", fsync: true",
        "drain",
    ),
)


def _child(mode: str, side: str, case: int, tasks: int, folder: Path, url: str) -> None:
    """Enqueue ``tasks`` (``fill`` natively, ``enqueue`` counted), or ``drain`` the queue."""
    from benchmarks.worker_loop import _huey_side, _jobrunner_side

    logging.disable(logging.CRITICAL)
    _, backend, extra, _ = CASES[case]
    folder = folder / f"{side}-{case}"
    folder.mkdir(exist_ok=True)
    target = url if backend == "redis" else str(folder / "queue.db")
    if side == "jobrunner":
        (app_huey, enqueue, worker), delivery = _jobrunner_side(folder, backend, target, extra)
    else:
        (app_huey, enqueue, worker), delivery = _huey_side(backend, target), None
    if mode in ("fill", "enqueue"):
        app_huey.storage.flush_queue()
        for _ in range(tasks):
            enqueue()
    else:
        queued = app_huey.storage.queue_size()
        while app_huey.storage.queue_size():
            worker.loop()
        if delivery is not None:
            worker.shutdown()
        print(f"drained {queued}")
    if delivery is not None:
        delivery.stop()


_CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def _child_command(args: list[str], folder: Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.instructions", "--child", *args, str(folder)]


def _env(url: str) -> dict[str, str]:
    # A fixed hash seed: the same work in every child, and the queue names that
    # worker_loop derives from hash() the same in the child that fills a queue and
    # the one that drains it.
    return {**os.environ, "PYTHONHASHSEED": "0", "JOBRUNNER_BENCH_REDIS": url}


def _count(args: list[str], folder: Path, url: str) -> int:
    """Instructions a child with ``args`` executes under callgrind."""
    done = subprocess.run(
        [*_CALLGRIND, *_child_command(args, folder)],
        env=_env(url),
        capture_output=True,
        text=True,
        check=True,
    )
    drained = re.search(r"drained (\d+)", done.stdout)
    if args[0] == "drain" and (drained is None or int(drained.group(1)) != int(args[3])):
        raise RuntimeError(f"the drain did not find the {args[3]} tasks queued: {done.stdout}")
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def _per_task(side: str, case: int, tasks: int, folder: Path, url: str) -> float:
    counted = CASES[case][3]
    counts = []
    for n in (0, tasks):
        if counted == "drain":
            fill = _child_command(["fill", side, str(case), str(n)], folder)
            subprocess.run(fill, env=_env(url), check=True)
        counts.append(_count([counted, side, str(case), str(n)], folder, url))
    return (counts[1] - counts[0]) / tasks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks per count (1,000)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, side, case, tasks, folder = args.child
        url = os.environ.get("JOBRUNNER_BENCH_REDIS", "")
        _child(mode, side, int(case), int(tasks), Path(folder), url)
        return 0
    from benchmarks._env import RedisServer

    rows = []
    with tempfile.TemporaryDirectory(prefix="jobrunner-instructions-") as tmp:
        folder = Path(tmp)
        redis_server = RedisServer(folder)
        redis_server.start()
        try:
            for case, (label, _, _, _) in enumerate(CASES):
                ours = _per_task("jobrunner", case, args.tasks, folder, redis_server.url)
                theirs = _per_task("huey", case, args.tasks, folder, redis_server.url)
                rows.append(f"| {label} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.3f}x |")
        finally:
            redis_server.stop()
    print(
        f"Instructions per task (callgrind), {args.tasks:,} tasks per count, fixed cost "
        "subtracted. Ratio: jobrunner's over huey's (below 1: jobrunner executes fewer).\n"
    )
    print("| case | jobrunner | huey | jobrunner/huey |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
