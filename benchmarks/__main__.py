"""``python -m benchmarks``: run the suite, print the table, optionally write it to the docs."""

from __future__ import annotations

import argparse
import datetime
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks._env import ROOT, RedisServer, child_env, machine
from benchmarks._report import Section, document, write
from benchmarks._settings import Settings
from benchmarks._systems import Backend

SECTIONS = ("enqueue", "drain", "latency", "config")
EXTRAS = ("worker_loop", "reload_latency", "schedule_offset", "delivery", "metrics_endpoint")
DOC = ROOT / "docs" / "performance.md"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark jobrunner against plain huey on the same backends, in one run.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and a short idle wait (a few minutes instead of ~20)",
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write the table into {DOC.relative_to(ROOT)}"
    )
    parser.add_argument(
        "--doc", type=Path, default=DOC, metavar="PATH", help="the file --write writes into"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        default=[],
        help="run only this part (repeatable)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=("redis", "sqlite"),
        default=[],
        help="benchmark only this backend (repeatable)",
    )
    parser.add_argument("--repeats", type=int, help="runs per figure (at least 3 by default)")
    parser.add_argument("--tasks", type=int, help="tasks per enqueue and drain run")
    parser.add_argument("--calls", type=int, help="round trips per latency series")
    parser.add_argument(
        "--idle", type=float, help="seconds the consumer idles before the second latency series"
    )
    parser.add_argument(
        "--config-sizes", help="comma-separated N for the config load (N tasks + N schedules)"
    )
    parser.add_argument(
        "--drain-cases", help="comma-separated WORKERSxTYPE, e.g. 1xthread,4xprocess"
    )
    parser.add_argument(
        "--extras",
        action="store_true",
        help="also run the other benchmark scripts of this folder, when present",
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace, folder: Path) -> Settings:
    settings = Settings.quick() if args.quick else Settings()
    settings.folder = folder
    if args.repeats is not None:
        settings.repeats = args.repeats
    if args.tasks is not None:
        settings.enqueue_tasks = settings.drain_tasks = args.tasks
    if args.calls is not None:
        settings.calls = args.calls
    if args.idle is not None:
        settings.idle = args.idle
    if args.config_sizes:
        settings.config_sizes = tuple(int(n) for n in args.config_sizes.split(","))
    if args.drain_cases:
        cases = []
        for case in args.drain_cases.split(","):
            workers, kind = case.split("x")
            cases.append((int(workers), kind))
        settings.drain_cases = tuple(cases)
    return settings


def _extras(quick: bool) -> list[str]:
    parts = []
    for name in EXTRAS:
        if not (ROOT / "benchmarks" / f"{name}.py").exists():
            continue
        command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if quick else [])]
        print(f"running {' '.join(command[1:])} ...", file=sys.stderr)
        done = subprocess.run(
            command, cwd=ROOT, env=child_env(), capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            parts.append(f"### {name}\n\n{done.stdout.strip()}\n")
        else:
            parts.append(
                f"### {name}\n\nfailed (exit {done.returncode}):\n\n```\n"
                f"{done.stderr.strip()[-2000:]}\n```\n"
            )
    return parts


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    wanted = args.only or list(SECTIONS)
    kinds = args.backend or ["redis", "sqlite"]
    started = time.monotonic()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="jobrunner-bench-") as tmp:
        folder = Path(tmp)
        settings = settings_from(args, folder)
        redis: RedisServer | None = None
        needs_backends = any(s in wanted for s in ("enqueue", "drain", "latency"))
        try:
            if needs_backends and "redis" in kinds:
                redis = RedisServer(folder)
                redis.start()
                settings.backends.append(Backend("redis", redis.url))
            if needs_backends and "sqlite" in kinds:
                settings.backends.append(Backend("sqlite", str(folder)))
            facts = machine(redis.version() if redis else None)
            steps: list[tuple[str, Callable[[Settings], Section | tuple[Section, ...]]]] = []
            if "enqueue" in wanted:
                from benchmarks._throughput import enqueue

                steps.append(("enqueue", enqueue))
            if "drain" in wanted:
                from benchmarks._throughput import drain

                steps.append(("drain", drain))
            if "latency" in wanted:
                from benchmarks._latency import latency

                steps.append(("latency", latency))
            if "config" in wanted:
                from benchmarks._config_load import config_load

                steps.append(("config", config_load))
            for name, step in steps:
                print(f"running {name} ...", file=sys.stderr, flush=True)
                t0 = time.monotonic()
                produced = step(settings)
                if isinstance(produced, Section):
                    sections.append(produced)
                else:
                    sections.extend(produced)
                print(
                    f"  {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True
                )
        finally:
            if redis is not None:
                redis.stop()
    command = "python -m benchmarks" + ("".join(" " + shlex.quote(a) for a in argv))
    today = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    header = [
        f"Measured {today} with `{command}` ({time.monotonic() - started:.0f} s), "
        f"{settings.repeats} runs per figure.",
        "",
        *(f"- {key}: {value}" for key, value in facts.items()),
    ]
    text = document(header, sections)
    if args.extras:
        text += "\n" + "\n".join(_extras(args.quick))
    print(text)
    if args.write:
        write(args.doc, text)
        print(f"written to {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
