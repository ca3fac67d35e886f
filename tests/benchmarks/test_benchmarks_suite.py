"""The benchmark suite runs, prints its tables, and writes them into a document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._report import BEGIN, END, Section, comparison, document, write
from benchmarks._stats import Measure, percentile
from tests.support.processes import ROOT, env

COMPARISON_HEADER = "| backend | case | jobrunner | huey | jobrunner/huey | target |"
CONFIG_HEADER = (
    "| tasks + schedules | jobrunner | huey | jobrunner/huey | jobrunner growth | target |"
)


def run_suite(
    *args: str, timeout: float = 240, module: str = "benchmarks"
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m MODULE ARGS`` (the suite, or one script of benchmarks/) to completion."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def rows(output: str, section: str) -> list[list[str]]:
    """The data rows of the table under ``### section``."""
    block = output.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([10.0, 20.0], 50) == 15.0
    assert percentile([7.0], 99) == 7.0
    assert percentile(list(map(float, range(101))), 99) == pytest.approx(99.0)


def test_a_measure_shows_its_median_and_range() -> None:
    assert Measure.of([3000.0, 1000.0, 2000.0], "rate").format() == "2,000/s (1,000-3,000)"
    assert Measure.of([1.234], "ms").format() == "1.23 ms"


def test_write_replaces_the_marked_block_and_keeps_the_prose(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nWhy the defaults.\n", encoding="utf-8")
    write(doc, "first table")
    write(doc, "second table")
    text = doc.read_text(encoding="utf-8")
    assert "Why the defaults." in text
    assert "second table" in text
    assert "first table" not in text
    assert text.count(BEGIN) == 1
    assert text.count(END) == 1


def test_a_missed_target_is_listed_under_the_tables() -> None:
    section = Section("Enqueue throughput", "note")
    comparison(
        section, "redis", "10 tasks", Measure.of([90.0], "rate"), Measure.of([100.0], "rate")
    )
    section.misses.append("Enqueue throughput / redis: >= 0.95x")
    text = document(["header"], [section])
    assert "| redis | 10 tasks | 90/s | 100/s | 0.90x |  |" in text
    assert "**Targets missed:**" in text
    assert "- Enqueue throughput / redis: >= 0.95x" in text


def test_suite_prints_enqueue_and_config_tables_with_tiny_sizes(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    done = run_suite(
        "--only",
        "enqueue",
        "--only",
        "config",
        "--backend",
        "sqlite",
        "--repeats",
        "1",
        "--tasks",
        "20",
        "--config-sizes",
        "10,100",
        "--write",
        "--doc",
        str(doc),
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "with `python -m benchmarks --only enqueue" in out
    assert "- huey: " in out
    assert COMPARISON_HEADER in out
    assert CONFIG_HEADER in out
    # jobrunner's defaults, then with huey's durability, then also huey's delivery.
    enqueue, durable, layer = rows(out, "Enqueue throughput")
    assert enqueue[:2] == ["sqlite", "20 tasks"]
    # --repeats 1 still runs enqueue 3 times (cheap): a median with its range.
    assert enqueue[2].endswith(")")
    assert "/s (" in enqueue[2]
    assert "/s (" in enqueue[3]
    assert enqueue[4].endswith("x")
    assert enqueue[5].startswith(">= 0.95x: ")
    assert "3 runs per figure" in out
    # The variants show what jobrunner's defaults change; the target is on the defaults.
    assert durable[:2] == ["sqlite (fsync: true)", "20 tasks"]
    assert durable[5] == ""
    assert layer[:2] == ["sqlite (fsync: true, at_most_once)", "20 tasks"]
    assert layer[3] == enqueue[3]  # the same huey measurement
    assert layer[5] == ""
    config = rows(out, "Config load")
    assert [row[0] for row in config] == ["10 + 10", "100 + 100"]
    assert config[1][4] == "1.0x (linear: 1x)"
    assert COMPARISON_HEADER in doc.read_text(encoding="utf-8")


@pytest.mark.slow
def test_whole_suite_runs_against_redis_and_sqlite() -> None:
    done = run_suite(
        "--quick",
        "--repeats",
        "1",
        "--tasks",
        "30",
        "--calls",
        "5",
        "--idle",
        "0.5",
        "--drain-cases",
        "1xthread,2xprocess",
        "--config-sizes",
        "10,100",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for section in (
        "Enqueue throughput",
        "Drain throughput",
        "Drain CPU cost",
        "Round-trip latency",
        "Idle consumer",
        "Config load",
    ):
        assert f"### {section}\n" in out
    drains = rows(out, "Drain throughput")
    assert [row[:2] for row in drains] == [
        ["redis", "1 thread"],
        ["redis", "2 processes"],
        ["sqlite", "1 thread"],
        ["sqlite (fsync: true)", "1 thread"],
        ["sqlite (fsync: true, at_most_once)", "1 thread"],
        ["sqlite", "2 processes"],
        ["sqlite (fsync: true)", "2 processes"],
        ["sqlite (fsync: true, at_most_once)", "2 processes"],
    ]
    latency = {(row[0], row[1]): row for row in rows(out, "Round-trip latency")}
    for backend in ("redis", "sqlite"):
        for case in ("p50", "p99", "first call after 0.5 s idle", "p50 after 0.5 s idle"):
            assert latency[(backend, case)][2].endswith(" ms")
            assert latency[(backend, case)][3].endswith(" ms")
    assert latency[("redis", "p50")][5].startswith("<= 5 ms: ")
    assert latency[("sqlite", "p50")][5].startswith("<= 30 ms: ")
    idle = {(row[0], row[1]) for row in rows(out, "Idle consumer")}
    assert ("redis", "RSS, 4 thread workers") in idle


def test_benchmark_settings_have_no_default_folder() -> None:
    """Generated files go where the caller says (a temporary folder), never to the cwd."""
    from benchmarks._settings import Settings

    with pytest.raises(TypeError, match="folder"):
        Settings()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="folder"):
        Settings.quick()  # type: ignore[call-arg]
