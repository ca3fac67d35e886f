"""Real time, real processes: ``jobrunner run`` fires on the minute, once across runners.

These wait for real minutes (slow marker; CI runs them). Every schedule records each run with
``sample_tasks.record``, which writes the wall-clock time and the process id to a file.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import records, wait_for_records
from tests.support.processes import Runner

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


def test_a_runner_started_at_second_40_fires_at_second_0_to_1_of_the_next_minute(
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
    assert next_minute <= first["time"] < next_minute + 1.0, (started, first)
    assert next_minute + 60 <= second["time"] < next_minute + 61.0, second


def _run_three(config: Path, out: Path, ticks: int = 3) -> list[datetime]:
    """Run three ``jobrunner run`` processes for ``ticks`` minute starts; return the ticks."""
    # Start well inside a minute, so the runners are up before the next one begins and
    # none of them fires the minute it started in.
    wait_for_second(12.0, 30.0)
    runners = [Runner(config) for _ in range(3)]
    try:
        for runner in runners:
            runner.wait_for("Periodic tasks are enabled", timeout=30)
        first = (int(time.time()) // 60 + 1) * 60
        assert time.time() < first - 2, "the runners took too long to start"
        # Stop halfway between the last tick and the next one.
        time.sleep(max(first + (ticks - 1) * 60 + 30 - time.time(), 0))
        codes = [runner.stop(signal.SIGINT) for runner in runners]
    finally:
        for runner in runners:
            if runner.process.poll() is None:
                runner.kill()
    assert codes == [0, 0, 0], [r.output[-2000:] for r in runners]
    return [datetime.fromtimestamp(first + 60 * i, UTC) for i in range(ticks)]


def _minutes_of(found: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromtimestamp(r["time"], UTC).replace(second=0, microsecond=0) for r in found]


def test_three_runners_on_one_redis_run_an_every_minute_schedule_once_a_minute(
    write_config: Callable[..., Path], project: Path, redis_url: str
) -> None:
    out = project / "out.jsonl"
    config = write_config(every_minute(f"backend: redis\n    url: {redis_url}", out))
    ticks = _run_three(config, out)
    found = records(out)
    assert len(found) == 3, found
    assert sorted(_minutes_of(found)) == ticks


def test_three_runners_on_one_sqlite_file_run_an_every_minute_schedule_once_a_minute(
    write_config: Callable[..., Path], project: Path
) -> None:
    out = project / "out.jsonl"
    config = write_config(every_minute("backend: sqlite\n    filename: queue.db", out))
    ticks = _run_three(config, out)
    found = records(out)
    assert len(found) == 3, found
    assert sorted(_minutes_of(found)) == ticks


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
