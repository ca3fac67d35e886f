"""``python -m benchmarks.metrics_endpoint`` drains with the endpoint off and on, scraped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.test_benchmarks_suite import run_suite


@pytest.mark.slow
def test_metrics_endpoint_prints_both_sides_with_a_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    done = run_suite(
        "--tasks", "3000", "--runs", "1", "--backend", "sqlite",
        module="benchmarks.metrics_endpoint", timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    drains, costs = done.stdout.split("CPU per request")
    lines = [line for line in drains.splitlines() if line.startswith("| ")][1:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert [row[:2] for row in cells] == [
        ["sqlite", "endpoint off"],
        ["sqlite", "endpoint on, scraped every 1 s"],
    ]
    assert cells[0][4] == "1.00"
    assert float(cells[1][4]) > 0
    assert cells[0][5].endswith(" us")
    assert cells[0][6] == "1.00"
    (cost_row,) = [line for line in costs.splitlines() if line.startswith("| sqlite")]
    assert all(cell.strip().endswith(" ms") for cell in cost_row.strip("|").split("|")[1:])
    assert "Counting one run from its events: " in costs
    assert list(tmp_path.iterdir()) == []  # its SQLite files are removed
