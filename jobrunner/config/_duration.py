"""Durations in the config: a number of seconds, or a string such as ``"1h30m"``."""

from __future__ import annotations

import re

_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)\s*")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: float | int | str) -> float:
    """Seconds in ``value``; the schema has already checked its form."""
    if isinstance(value, (int, float)):
        return float(value)
    total = 0.0
    position = 0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT[match.group(2)]
        position = match.end()
    if position != len(value) or not value.strip():
        raise ValueError(f"{value!r} is not a duration such as '30s', '5m', '1h30m'")
    return total
