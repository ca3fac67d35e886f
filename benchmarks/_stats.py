"""Repeated measurements and how they are summarised: median with min-max."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """One figure measured ``len(values)`` times; ``unit`` picks the formatting."""

    values: tuple[float, ...]
    unit: str  # "rate" (tasks/s), "ms", "MiB", "%", "us" (microseconds)

    @classmethod
    def of(cls, values: Sequence[float], unit: str) -> Measure:
        if not values:
            raise ValueError("no values")
        return cls(tuple(values), unit)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def format(self) -> str:
        text = _number(self.median, self.unit)
        if len(self.values) > 1:
            text += f" ({_bare(self.low, self.unit)}-{_bare(self.high, self.unit)})"
        return text


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``samples``, linear between closest ranks."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _bare(value: float, unit: str) -> str:
    if unit == "rate":
        return f"{value:,.0f}"
    if unit in ("ms", "MiB", "%", "us"):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return f"{value:.3g}"


def _number(value: float, unit: str) -> str:
    suffix = {"rate": "/s", "ms": " ms", "MiB": " MiB", "%": "%", "us": " us"}.get(unit, "")
    return _bare(value, unit) + suffix
