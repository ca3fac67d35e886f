"""Real time, real processes: ``jobrunner run`` fires on the minute, once across runners.

These wait for real minutes (slow marker; CI runs them). Every schedule records each run with
``sample_tasks.record``, which writes the wall-clock time and the process id to a file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import records, wait_for_records
from tests.support.processes import Runner, env

pytestmark = pytest.mark.slow


def wait_for_second(low: float, high: float) -> None:
    """Sleep until the wall clock's second-of-minute is in [low, high)."""
    while not low <= time.time() % 60 < high:
        time.sleep(0.05)


def every_minute(backend: str, out: Path, extra: str = "") -> str:
    return f"""
version: 1
instances:
  main:
    {backend}
    consumer: {{workers: 2}}
schedules:
  every:
    function: sample_tasks:record
    cron: "* * * * *"
    args: ["{out}", every]
{extra}"""


def test_a_runner_started_at_second_40_fires_at_the_start_of_the_next_minute(
    write_config: Callable[..., Path], project: Path
) -> None:
    out = project / "out.jsonl"
    config = write_config(every_minute("backend: sqlite\n    filename: queue.db", out))
    wait_for_second(40.0, 41.0)
    started = time.time()
    with Runner(config) as runner:
        [first] = wait_for_records(out, 1, timeout=45)
        [*_, second] = wait_for_records(out, 2, timeout=75)
        assert runner.stop() == 0
    next_minute = (int(started) // 60 + 1) * 60
    # On the minute, not 60 s after the start as huey's scheduler would (second 40 of the
    # next minute); the slack is a loaded machine's, the fire time itself is ms after :00.
    assert next_minute <= first["time"] < next_minute + 10.0, (started, first)
    assert next_minute + 60 <= second["time"] < next_minute + 70.0, second


PRODUCE = """
import sys
import jobrunner

app = jobrunner.load(sys.argv[1])
for number in range(20):
    app.tasks.rec(sys.argv[2], f"{sys.argv[3]}-{number}")
"""


def _minutes_of(found: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromtimestamp(r["time"], UTC).replace(second=0, microsecond=0) for r in found]


def test_three_runners_and_two_producers_started_at_once_on_fresh_storages_fire_each_tick_once(
    project: Path, redis_url: str
) -> None:
    """Redis, PostgreSQL and SQLite side by side (one wait for the minutes): three runners
    and two producers of each start together on a storage nobody created yet (the tables
    race on PostgreSQL), then each tick of an every-minute schedule fires exactly once."""
    from tests.support.servers import private_postgres_database

    with private_postgres_database() as dsn:
        backends = {
            "redis": f"backend: redis\n    url: {redis_url}",
            "postgres": f"backend: postgres\n    dsn: {dsn}",
            "sqlite": "backend: sqlite\n    filename: queue.db",
        }
        folders = {}
        for name, lines in backends.items():
            folder = project / name
            folder.mkdir()
            tasks = "tasks:\n  rec:\n    function: sample_tasks:record\n"
            config = folder / "jobs.yaml"
            config.write_text(every_minute(lines, folder / "ticks.jsonl", tasks))
            folders[name] = config
        # Well inside a minute: the runners are up before the next one begins.
        wait_for_second(5.0, 25.0)
        runners = [Runner(c, cwd=project) for c in folders.values() for _ in range(3)]
        producers = [
            subprocess.Popen(
                [sys.executable, "-c", PRODUCE, str(c), str(c.parent / "sent.jsonl"), f"p{n}"],
                cwd=project,
                env=env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for c in folders.values()
            for n in range(2)
        ]
        try:
            outputs = [p.communicate(timeout=120)[0] for p in producers]
            assert [p.returncode for p in producers] == [0] * len(producers), outputs
            for runner in runners:
                runner.wait_for("Periodic tasks are enabled", timeout=120)
            # Two whole minutes once every runner is up, then stop halfway into the next.
            first = (int(time.time()) // 60 + 1) * 60
            time.sleep(max(first + 60 + 30 - time.time(), 0))
            for config in folders.values():
                wait_for_records(config.parent / "sent.jsonl", 40, timeout=60)
            codes = [runner.stop(signal.SIGINT) for runner in runners]
        finally:
            for runner in runners:
                if runner.process.poll() is None:
                    runner.kill()
        assert codes == [0] * len(runners), [r.output[-2000:] for r in runners]
        for name, config in folders.items():
            sent = sorted(r["value"] for r in records(config.parent / "sent.jsonl"))
            assert sent == sorted(f"p{p}-{n}" for p in range(2) for n in range(20)), name
            minutes = _minutes_of(records(config.parent / "ticks.jsonl"))
            # Each tick at most once, whichever runner won it; the two whole minutes fired.
            assert len(minutes) == len(set(minutes)), (name, minutes)
            wanted = {datetime.fromtimestamp(first + 60 * i, UTC) for i in range(2)}
            assert wanted <= set(minutes), (name, minutes)


LONG_TASK = """
import json, os, time


def long_run(path):
    with open(path, "a") as fh:
        fh.write(json.dumps({"pid": os.getpid(), "time": time.time()}) + "\\n")
    time.sleep(600)
"""


def test_a_killed_runner_blocks_an_overlap_skip_schedule_only_for_its_lease(
    write_config: Callable[..., Path], project: Path, redis_url: str
) -> None:
    (project / "long_tasks.py").write_text(LONG_TASK)
    out = project / "started.jsonl"
    config = write_config(f"""
version: 1
instances:
  main:
    backend: redis
    url: {redis_url}
    lease: 3s
    delivery: at_most_once
schedules:
  long:
    function: long_tasks:long_run
    cron: "* * * * *"
    overlap: skip
    args: ["{out}"]
""")
    wait_for_second(15.0, 40.0)
    with Runner(config) as first, Runner(config) as second:
        # The first runner takes the first tick's run and keeps renewing its marker.
        first.wait_for("Periodic tasks are enabled", timeout=30)
        [run] = wait_for_records(out, 1, timeout=60)
        assert run["pid"] in (first.process.pid, second.process.pid)
        owner, survivor = (first, second) if run["pid"] == first.process.pid else (second, first)
        # The next tick is skipped while it runs, by whichever runner claims it.
        deadline = time.time() + 75
        while "skipped (overlap: skip)" not in first.output + second.output:
            assert time.time() < deadline, first.output + second.output
            time.sleep(0.2)
        # The runner running it dies without a word: nobody renews the lease.
        owner.kill()
        again = wait_for_records(out, 2, timeout=75)[1]
        assert again["pid"] == survivor.process.pid
        # One lease after the kill, at the next tick, not a tick later.
        assert again["time"] - run["time"] < 2 * 60 + 2
