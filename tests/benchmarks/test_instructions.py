"""``python -m benchmarks.instructions``: its children fill and drain the same queue.

The counts themselves need valgrind and minutes; what can silently break is the
child that drains finding a different queue than the one filled (a count of
nothing), so the children run here natively, for every case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.instructions import CASES
from tests.benchmarks.test_benchmarks_suite import run_suite


@pytest.mark.parametrize("side", ["jobrunner", "huey"])
@pytest.mark.parametrize("case", [i for i, c in enumerate(CASES) if c[3] == "drain"])
def test_the_drain_child_drains_what_the_fill_child_queued(
    side: str, case: int, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBRUNNER_BENCH_REDIS", redis_url)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    module = "benchmarks.instructions"
    filled = run_suite("--child", "fill", side, str(case), "7", str(tmp_path), module=module)
    assert filled.returncode == 0, filled.stderr
    drained = run_suite("--child", "drain", side, str(case), "0", str(tmp_path), module=module)
    assert drained.returncode == 0, drained.stderr
    assert drained.stdout.strip() == "drained 7"
