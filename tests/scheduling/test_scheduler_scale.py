"""At scale, in real time: 2,000 every-minute schedules, 3 runners on Redis and 3 on PostgreSQL
(all six at once, so one minute boundary serves both), each schedule runs exactly once per tick.

The firing lag is measured by ``python -m benchmarks.schedule_scale``, not asserted here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.processes import Runner

pytestmark = pytest.mark.slow

SCHEDULES = 2000
RUNNERS = 3


def _config(instance: str, out: Path) -> str:
    lines = [
        "version: 1",
        "instances:",
        "  main:",
        f"    {instance}",
        "    consumer: {workers: 4}",
        "schedules:",
    ]
    for i in range(SCHEDULES):
        lines.append(
            f"  s{i:04d}: {{function: sample_tasks:record, cron: '* * * * *', "
            f"args: ['{out}', s{i:04d}]}}"
        )
    return "\n".join(lines) + "\n"


def _runs(path: Path) -> list[tuple[str, int]]:
    """(schedule, minute it ran in) of each recorded run."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            found.append((record["value"], int(record["time"] // 60)))
    return found


def test_2000_schedules_3_runners_redis_and_postgres_each_run_exactly_once(
    write_config: Callable[..., Path],
    project: Path,
    redis_url: str,
    postgres_dsn: str,
) -> None:
    outs = {"redis": project / "redis.jsonl", "postgres": project / "postgres.jsonl"}
    configs = {
        "redis": write_config(
            _config(f"backend: redis\n    url: {redis_url}", outs["redis"]), "redis.yaml"
        ),
        "postgres": write_config(
            _config(
                f"backend: postgres\n    dsn: {postgres_dsn}\n    name: q{uuid.uuid4().hex[:8]}",
                outs["postgres"],
            ),
            "postgres.yaml",
        ),
    }
    runners = [Runner(configs[b]) for b in ("redis", "postgres") for _ in range(RUNNERS)]
    try:
        for runner in runners:
            runner.wait_for(f"0 task(s) and {SCHEDULES} schedule(s) registered", timeout=180)
        # Every runner is up: the first whole minute after now is fired by all six.
        tick = int(time.time() // 60) + 1
        deadline = time.monotonic() + (tick * 60 - time.time()) + 120
        while time.monotonic() < deadline:
            if all(
                sum(1 for _, minute in _runs(out) if minute == tick) >= SCHEDULES
                for out in outs.values()
            ):
                break
            time.sleep(0.5)
        time.sleep(2)  # a run fired twice would show up by now
        for runner in runners:
            assert runner.stop() == 0
    finally:
        for runner in runners:
            if runner.process.poll() is None:
                runner.kill()
    for backend, out in outs.items():
        runs = _runs(out)
        of_tick = Counter(name for name, minute in runs if minute == tick)
        assert len(of_tick) == SCHEDULES, (backend, len(of_tick))
        assert set(of_tick.values()) == {1}, (backend, of_tick.most_common(3))
        # No schedule ran twice in any minute either.
        assert max(Counter(runs).values()) == 1, backend
