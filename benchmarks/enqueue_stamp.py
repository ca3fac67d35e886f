"""Instructions per enqueue with the enqueue-time stamp and without it, under callgrind.

    python -m benchmarks.enqueue_stamp [--tasks N]

The same jobrunner handle enqueues N no-op tasks on the memory backend (no I/O, so the
stamp's share is the largest it can be), once with jobrunner's huey class and once with
huey's own class under it (no stamp). Each figure is the child's count minus the count of
the same child with 0 tasks, over N. Needs ``valgrind``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks._env import child_env

JOBS = """version: 1
instances:
  main: {backend: memory, results: false}
tasks:
  noop: {function: noop_tasks:noop}
"""


def child(mode: str, tasks: int) -> None:
    import jobrunner

    folder = Path(tempfile.mkdtemp())
    (folder / "noop_tasks.py").write_text("def noop():\n    return None\n")
    (folder / "jobs.yaml").write_text(JOBS)
    sys.path.insert(0, str(folder))
    app = jobrunner.load(folder / "jobs.yaml")
    noop = app.tasks.noop
    app_huey = app.huey("main")
    if mode == "unstamped":
        # huey's own class, the one jobrunner's stamping class extends.
        app_huey.__class__ = type("Unstamped", (type(app_huey).__bases__[1],), {})
    noop()  # first-call imports and caches, in both counts
    for _ in range(tasks):
        noop()


def count(mode: str, tasks: int) -> int:
    env = {**child_env(), "PYTHONHASHSEED": "0"}
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-m", "benchmarks.enqueue_stamp", "--child", mode, str(tasks)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    assert found, done.stderr[-2000:]
    return int(found.group(1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.enqueue_stamp")
    parser.add_argument("--tasks", type=int, default=20_000, help="enqueues per count (20,000)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    per = {}
    for mode in ("stamped", "unstamped"):
        per[mode] = (count(mode, args.tasks) - count(mode, 0)) / args.tasks
    print("| case | stamped | unstamped | stamped/unstamped |")
    print("|---|---|---|---|")
    print(
        f"| memory, enqueue, {args.tasks:,} tasks | {per['stamped']:,.0f} | "
        f"{per['unstamped']:,.0f} | {per['stamped'] / per['unstamped']:.3f}x |"
    )
    print(f"\n({os.cpu_count()} CPUs; instructions per enqueue, callgrind)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
