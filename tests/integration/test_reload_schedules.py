"""Hot reload of schedules in a real ``jobrunner run``: these wait for minute ticks (slow)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import records
from tests.integration.reload_support import save
from tests.support.processes import Runner

pytestmark = pytest.mark.slow

TICK = 75.0  # a schedule due every minute fires within this long (a minute and a margin)


def _schedule(name: str, out: Path, cron: str) -> str:
    return (
        f"  {name}:\n    function: sample_tasks:record\n    cron: {cron!r}\n"
        f"    args: [{str(out)!r}, {name}]\n"
    )


def _config(out: Path, *schedules: tuple[str, str]) -> str:
    body = "".join(_schedule(name, out, cron) for name, cron in schedules)
    head = "version: 1\ninstances:\n  default:\n    backend: sqlite\n    filename: q.db\n"
    return f"{head}schedules:\n{body}"


def _fired(out: Path, name: str, after: float) -> list[dict[str, Any]]:
    return [r for r in records(out) if r["value"] == name and r["time"] > after]


def _wait_fired(out: Path, name: str, after: float, timeout: float = TICK) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _fired(out, name, after):
            return
        time.sleep(0.2)
    raise AssertionError(
        f"schedule {name} did not fire after {after} within {timeout}s: {records(out)}"
    )


def _not_today() -> str:
    # huey's day of week: 0 = Sunday. Three days away stays "not today" across midnight.
    today = (datetime.now(UTC).weekday() + 1) % 7
    return f"* * * * {(today + 3) % 7}"


def test_schedules_change_live_and_a_bad_save_keeps_the_old_ones_firing(project: Path) -> None:
    out = project / "out.jsonl"
    config = project / "jobs.yaml"
    save(config, _config(out, ("a", "* * * * *"), ("b", _not_today())))
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")

        # An invalid save is rejected with its line; the running schedules keep firing.
        broken = _config(out, ("a", "* * * * *"), ("b", _not_today()), ("c", "61 * * * *"))
        save(config, broken, "atomic")
        output = runner.wait_for("reload rejected: 1 error")
        line = broken.splitlines().index("  c:") + 1
        assert f"{config}:{line + 2}:" in output  # the cron line of c
        rejected = time.time()
        _wait_fired(out, "a", rejected)

        # The fix: remove a, change b's cron so that it fires every minute, add c.
        save(config, _config(out, ("b", "* * * * *"), ("c", "* * * * *")), "atomic")
        output = runner.wait_for("INFO jobrunner: reloaded ")
        applied = time.time()
        entry = next(line for line in output.splitlines() if "reloaded" in line)
        assert entry.endswith(
            f"(generation 2): +schedule c, ~schedule b (cron '{_not_today()}'->'* * * * *'), "
            "-schedule a"
        )
        _wait_fired(out, "b", applied)
        _wait_fired(out, "c", applied)
        # b and c fired at the first tick after the reload; a, removed, did not.
        assert not _fired(out, "a", applied + 2)
        assert runner.stop() == 0
