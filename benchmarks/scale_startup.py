"""Start-up, reload and validate at size: N tasks + N schedules (10,000 + 10,000 by default).

    python -m benchmarks.scale_startup [--size N] [--repeats R]

Against a generated ``jobs.yaml`` on SQLite (in a temporary folder), in subprocesses:

- ``validate``: wall time of ``jobrunner validate FILE`` (exit 0);
- ``run ready``: from starting ``jobrunner run FILE`` to its scheduler's first-tick line
  (``tick ...: N schedule(s) decided``): every consumer started, the first tick decided;
- ``reload``: from rewriting the file with one schedule's cron changed to the
  ``reloaded ...: ~schedule s0`` line of that runner;
- memory: the runner's resident set (VmRSS) once ready, against a runner of a 1 + 1 file,
  divided by the 2N tasks and schedules.

Each also gets its CPU time (user + system: the validate process's, the runner's until
ready, the runner's between the save and the reload line), which a machine shared with
other work inflates far less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._env import child_env, jobrunner_command

READY = re.compile(r"tick \S+ \S+: \d+ schedule\(s\) decided")
RELOADED = re.compile(r"reloaded \S+ \(generation \d+\): ~schedule s0 ")


def write_config(path: Path, size: int, minute: int = 0) -> None:
    lines = ["version: 1", "tasks:"]
    task = "function: benchmarks._tasks:noop"
    lines += [f"  t{i}: {{{task}, retries: {i % 3}}}" for i in range(size)]
    lines.append("schedules:")
    for i in range(size):
        cron = f"{minute if i == 0 else i % 60} */2 * * *"
        lines.append(f"  s{i}: {{function: benchmarks._tasks:noop, cron: '{cron}'}}")
    path.write_text("\n".join(lines) + "\n")


def _wait(log: Path, pattern: re.Pattern[str] | str, process: subprocess.Popen[bytes]) -> float:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        text = log.read_text()
        found = pattern in text if isinstance(pattern, str) else pattern.search(text) is not None
        if found:
            return time.monotonic()
        if process.poll() is not None:
            raise RuntimeError(f"jobrunner run exited:\n{text[-2000:]}")
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {pattern!r}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (its threads included) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Run:
    """One runner's figures: seconds and CPU seconds to ready and to apply the reload."""

    def __init__(self) -> None:
        self.ready = self.ready_cpu = self.rss = float("nan")
        self.applied = self.applied_cpu = float("nan")


def run_once(folder: Path, size: int, reload: bool) -> Run:
    """Start a runner of a generated file, wait until ready, then (``reload``) change s0."""
    config = folder / f"jobs-{size}.yaml"
    write_config(config, size)
    log = folder / f"run-{size}.log"
    with log.open("w") as out:
        start = time.monotonic()
        process = subprocess.Popen(
            [*jobrunner_command(), "run", str(config), "--reload-poll", "0.05"],
            cwd=folder,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        run = Run()
        try:
            run.ready = _wait(log, READY, process) - start
            run.ready_cpu = _cpu_seconds(process.pid)
            run.rss = _rss_mib(process.pid)
            if reload:
                time.sleep(0.5)
                changed, cpu = time.monotonic(), _cpu_seconds(process.pid)
                write_config(config, size, minute=59)
                run.applied = _wait(log, RELOADED, process) - changed
                run.applied_cpu = _cpu_seconds(process.pid) - cpu
        finally:
            process.terminate()
            process.wait(60)
    return run


def validate_once(folder: Path, size: int) -> tuple[float, float]:
    """(seconds, CPU seconds) of ``jobrunner validate`` on a generated file."""
    config = folder / f"validate-{size}.yaml"
    write_config(config, size)
    before = _children_cpu()
    start = time.monotonic()
    done = subprocess.run(
        [*jobrunner_command(), "validate", str(config)], env=child_env(), capture_output=True
    )
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(done.stdout.decode() + done.stderr.decode())
    return elapsed, _children_cpu() - before


def _children_cpu() -> float:
    # Only the validate process ends between two reads: the runners are reaped elsewhere.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_startup")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        validates: list[tuple[float, float]] = []
        runs: list[Run] = []
        for _ in range(args.repeats):
            validates.append(validate_once(folder, args.size))
            runs.append(run_once(folder, args.size, reload=True))
        small = run_once(folder, 1, reload=False).rss
    rss = statistics.median(run.rss for run in runs)
    per = (rss - small) * 1024 * 1024 / (2 * args.size)
    n = args.size

    def fmt(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"

    print(f"{n} tasks + {n} schedules (SQLite), median of {args.repeats} (min-max)\n")
    print("| measure | wall time | CPU time | bound |")
    print("|---|---|---|---|")
    rows = (
        ("`jobrunner validate`", [v[0] for v in validates], [v[1] for v in validates], "2 s"),
        (
            "`jobrunner run` ready (first tick decided)",
            [r.ready for r in runs],
            [r.ready_cpu for r in runs],
            "3 s",
        ),
        (
            "reload of one changed schedule applied",
            [r.applied for r in runs],
            [r.applied_cpu for r in runs],
            "1 s",
        ),
    )
    for label, walls, cpus, bound in rows:
        print(f"| {label} | {fmt(walls)} | {fmt(cpus)} | {bound} |")
    print(f"| runner memory (RSS) | {rss:.0f} MiB (1 + 1: {small:.0f} MiB) | | |")
    print(f"| memory per task or schedule | {per / 1024:.1f} KiB | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
