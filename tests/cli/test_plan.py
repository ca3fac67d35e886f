"""``jobrunner plan``: the next fire times in the schedule's zone and in UTC, with a reading."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner.cli import main
from tests.support.processes import cli

CONFIG = """
version: 1
instances:
  main: {backend: sqlite, filename: queue.db}
schedules:
  nightly:
    function: sample_tasks:echo
    cron: "30 2 * * *"
    timezone: Europe/Berlin
  reports:
    function: sample_tasks:echo
    cron: {minute: "*/15", hour: "8-9", day_of_week: "1-5"}
    timezone: America/New_York
    jitter: 30s
  never:
    function: sample_tasks:echo
    cron: "0 0 30 2 *"
  retired:
    function: sample_tasks:echo
    cron: "0 * * * *"
    enabled: false
"""


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(CONFIG)


def plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["plan", *args])
    return code, capsys.readouterr().out


def test_plan_shows_zone_and_utc_times_across_a_dst_change(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = plan(capsys, str(config), "nightly", "--count", "3", "--from", "2026-03-27T12:00")
    assert code == 0
    assert out.splitlines() == [
        "nightly: at 02:30 every day",
        '  cron "30 2 * * *" in Europe/Berlin',
        "  Europe/Berlin               UTC",
        "  Sat 2026-03-28 02:30 CET    2026-03-28 01:30 UTC",
        # 02:30 does not exist on the 29th: it runs at the first minute after the gap.
        "  Sun 2026-03-29 03:00 CEST   2026-03-29 01:00 UTC",
        "  Mon 2026-03-30 02:30 CEST   2026-03-30 00:30 UTC",
    ]


def test_plan_json_lists_count_runs_with_their_jitter(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = plan(
        capsys, str(config), "reports", "-c", "10", "--from", "2026-11-27T13:50Z", "--format=json"
    )
    assert code == 0
    [item] = json.loads(out)["schedules"]
    assert item["description"] == "every 15 minutes, between 08:00 and 09:59, Monday to Friday"
    runs = item["runs"]
    assert len(runs) == 10
    # Friday 08:00 EST is 13:00 UTC: from 13:50 UTC, 09:00 is next, then Monday.
    assert [r["local"][:16] for r in runs[:5]] == [
        "2026-11-27T09:00",
        "2026-11-27T09:15",
        "2026-11-27T09:30",
        "2026-11-27T09:45",
        "2026-11-30T08:00",
    ]
    assert runs[0]["utc"] == "2026-11-27T14:00:00+00:00"
    assert all(0 <= r["jitter"] < 30 for r in runs)
    assert len({r["jitter"] for r in runs}) > 1


def test_plan_of_every_schedule_flags_disabled_and_never(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = plan(capsys, str(config), "-c", "2")
    assert code == 0
    for name in ("nightly:", "reports:", "never:", "retired:"):
        assert name in out
    assert "never fires (no date matches the cron)" in out
    assert "DISABLED (enabled: false)" in out
    assert "each run delayed by a fixed jitter below 30s" in out


def test_plan_unknown_name_suggests_the_closest(config: Path) -> None:
    result = cli("plan", str(config), "nightlyy")
    assert result.returncode == 1
    assert "no schedule named 'nightlyy'" in result.stderr
    assert "did you mean 'nightly'?" in result.stderr


@pytest.mark.parametrize("bad", [["--count", "0"], ["--from", "next tuesday"]])
def test_plan_bad_arguments_are_usage_errors(config: Path, bad: list[str]) -> None:
    assert main(["plan", str(config), *bad]) == 2
