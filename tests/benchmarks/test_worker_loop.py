"""``python -m benchmarks.worker_loop`` drains through both workers and prints its table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.test_benchmarks_suite import run_suite


def test_worker_loop_prints_a_row_per_case_with_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    done = run_suite("--tasks", "40", "--runs", "1", module="benchmarks.worker_loop", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")][1:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert [row[:2] for row in cells] == [
        ["redis", "at-least-once (default)"],
        ["sqlite", "fsync: true, at-least-once (default)"],
        ["sqlite", "fsync: true, at_most_once"],
    ]
    for row in cells:
        assert all(cell.endswith(" us") for cell in (row[2], row[3], row[5], row[6]))
        assert float(row[4].rstrip("x")) > 0
        assert float(row[7].rstrip("x")) > 0
    assert list(tmp_path.iterdir()) == []  # its SQLite files and Redis folder are removed
