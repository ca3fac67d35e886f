"""``python -m benchmarks.handles`` times both call paths and prints a row per backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.test_benchmarks_suite import run_suite


def test_handles_benchmark_prints_a_ratio_per_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    done = run_suite(
        "--calls", "50", "--runs", "1", "--backend", "memory", "--backend", "sqlite",
        module="benchmarks.handles",
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")][1:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert [row[0] for row in cells] == ["memory", "sqlite"]
    for row in cells:
        assert row[1].endswith(" us")
        assert row[2].endswith(" us")
        assert float(row[3].rstrip("x")) > 0
    assert list(tmp_path.iterdir()) == []  # the generated module and databases are removed
