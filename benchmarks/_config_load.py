"""Config load: parse + validate + build N tasks and N schedules, against huey registering them.

jobrunner's side is ``jobrunner.load(path)`` (YAML, interpolation, JSON Schema,
resolution, huey objects, registration); plain huey's side is the Python a huey
user writes instead: a ``SqliteHuey`` and N ``@huey.task()`` plus N
``@huey.periodic_task(crontab(...))`` registrations.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

from benchmarks._report import Section, check, ratio
from benchmarks._settings import Settings
from benchmarks._stats import Measure

BASE = 100  # Growth is relative to 100 tasks + 100 schedules.
MAX_GROWTH_AT_5000 = 50.0


def write_config(folder: Path, count: int) -> Path:
    """A jobs.yaml with ``count`` tasks and ``count`` schedules on one SQLite instance."""
    lines = [
        "version: 1",
        "instances:",
        "  default:",
        "    backend: sqlite",
        f"    filename: load-{count}.db",
        "tasks:",
    ]
    for i in range(count):
        lines.append(f"  task_{i}:")
        lines.append("    function: benchmarks._tasks:noop")
        lines.append(f"    retries: {i % 3}")
    lines.append("schedules:")
    for i in range(count):
        lines.append(f"  schedule_{i}:")
        lines.append(f"    cron: '{i % 60} */2 * * *'")
        lines.append("    function: benchmarks._tasks:noop")
    path = folder / f"load-{count}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _time_jobrunner(path: Path) -> float:
    import jobrunner

    start = time.perf_counter()
    app = jobrunner.load(path, immediate=False)
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed * 1000


def _time_huey(folder: Path, count: int) -> float:
    from huey import SqliteHuey, crontab

    from benchmarks._tasks import noop

    start = time.perf_counter()
    huey = SqliteHuey("load", filename=str(folder / f"huey-load-{count}.db"))
    for i in range(count):
        huey.task(retries=i % 3, name=f"task_{i}")(noop)
    for i in range(count):
        huey.periodic_task(crontab(str(i % 60), "*/2"), name=f"schedule_{i}")(noop)
    elapsed = time.perf_counter() - start
    huey.storage.close()
    return elapsed * 1000


def config_load(settings: Settings) -> Section:
    section = Section(
        "Config load",
        "N tasks + N schedules: `jobrunner.load(jobs.yaml)` (parse + validate + build and "
        "register on huey) against plain huey registering the same in Python (no file to "
        "parse). Growth is jobrunner's time over its time for 100 + 100; linear growth is "
        "N / 100 x. Lower is better.",
        columns=(
            "tasks + schedules",
            "jobrunner",
            "huey",
            "jobrunner/huey",
            "jobrunner growth",
            "target",
        ),
    )
    sizes = sorted({*settings.config_sizes, BASE})
    paths = {n: write_config(settings.folder, n) for n in sizes}
    _time_jobrunner(paths[sizes[0]])  # Imports and the schema cache are not load time.
    _time_huey(settings.folder, sizes[0])
    results: dict[int, tuple[Measure, Measure]] = {}
    for n in sizes:
        jr, hu = [], []
        for repeat in range(settings.repeats):
            gc.collect()
            if repeat % 2:
                hu.append(_time_huey(settings.folder, n))
                jr.append(_time_jobrunner(paths[n]))
            else:
                jr.append(_time_jobrunner(paths[n]))
                hu.append(_time_huey(settings.folder, n))
        results[n] = (Measure.of(jr, "ms"), Measure.of(hu, "ms"))
    base = results[BASE][0].median
    for n in sizes:
        jr_m, hu_m = results[n]
        growth = jr_m.median / base
        target = ""
        if n == 5_000:
            target = check(
                section,
                f"{n:,} + {n:,}",
                growth < MAX_GROWTH_AT_5000,
                f"< {MAX_GROWTH_AT_5000:g}x of 100 + 100",
            )
        r = ratio(jr_m, hu_m)
        section.rows.append(
            [
                f"{n:,} + {n:,}",
                jr_m.format(),
                hu_m.format(),
                f"{r:.1f}x" if r else "-",
                f"{growth:.1f}x (linear: {n / BASE:g}x)",
                target,
            ]
        )
    return section
