"""Sizes of one suite run: the full defaults, ``--quick`` ones, and command-line overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._systems import Backend


@dataclass
class Settings:
    repeats: int = 3
    enqueue_tasks: int = 10_000
    drain_tasks: int = 10_000
    drain_cases: tuple[tuple[int, str], ...] = (
        (1, "thread"),
        (4, "thread"),
        (1, "process"),
        (4, "process"),
    )
    calls: int = 500
    idle: float = 30.0
    config_sizes: tuple[int, ...] = (10, 100, 1_000, 5_000)
    backends: list[Backend] = field(default_factory=list)
    # Where generated files (configs, databases, logs) go: a temporary folder the caller
    # owns. No default: a default of "." once committed load-*.yaml to the repository root.
    folder: Path = field(kw_only=True)

    @classmethod
    def quick(cls, *, folder: Path) -> Settings:
        return cls(
            folder=folder,
            enqueue_tasks=1_000,
            drain_tasks=1_000,
            calls=100,
            idle=3.0,
            config_sizes=(10, 100, 1_000),
        )
