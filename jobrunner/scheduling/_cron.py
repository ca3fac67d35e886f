"""Five-field cron expressions with huey's exact syntax and matching semantics.

Every field is validated *and* expanded by calling ``huey.crontab(..., strict=True)``, so a
cron accepted here is one huey accepts and the minutes we compute are the minutes huey would
fire on. Matching is huey's, not Vixie cron's: all five fields must match (day of month and day
of week are ANDed even when both are restricted), and day of week 0 and 7 both mean Sunday.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, Final

import huey

FIELDS: Final = ("minute", "hour", "day", "month", "day_of_week")

# Probe instants chosen so that varying one component while the rest stay at a value every "*"
# accepts walks exactly that field's domain. 2000-01-02 is a Sunday, so day k of that week has
# huey weekday k (0 = Sunday).
_PROBES: Final[dict[str, list[tuple[int, datetime]]]] = {
    "minute": [(m, datetime(2000, 1, 1, 0, m)) for m in range(60)],
    "hour": [(h, datetime(2000, 1, 1, h, 0)) for h in range(24)],
    "day": [(d, datetime(2000, 1, d)) for d in range(1, 32)],
    "month": [(m, datetime(2000, m, 1)) for m in range(1, 13)],
    "day_of_week": [(k, datetime(2000, 1, 2 + k)) for k in range(7)],
}


class CronError(ValueError):
    """A cron expression huey would reject; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CronValues:
    """The values each field allows, exactly as huey expands them (weekday 0 = Sunday)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]


# A config repeats field texts ("*", "0", "*/5") across schedules; expanding one costs up
# to 60 calls of huey's predicate, so each distinct text is expanded once (docs/performance.md).
@lru_cache(maxsize=4096)
def _expand(field: str, value: str) -> frozenset[int]:
    try:
        test: Callable[[datetime], bool] = huey.crontab(**{field: value}, strict=True)
    except ValueError as exc:
        raise CronError(field, _message(value, str(exc))) from exc
    # Asking huey's own predicate (rather than re-parsing the syntax) keeps our value sets
    # identical to what huey fires on, including its wrap-around ranges and step rules.
    return frozenset(v for v, probe in _PROBES[field] if test(probe))


def _message(value: str, detail: str) -> str:
    generic = f"{value!r} is not a valid input"
    if detail in (f"{value} is not a valid input", ""):
        return generic
    return f"{generic}: {detail}"


@dataclass(frozen=True)
class Cron:
    """A validated five-field cron: ``minute hour day month day_of_week``."""

    minute: str = "*"
    hour: str = "*"
    day: str = "*"
    month: str = "*"
    day_of_week: str = "*"

    def __post_init__(self) -> None:
        for name in FIELDS:
            if not isinstance(getattr(self, name), str):
                raise CronError(name, f"expected a string, got {getattr(self, name)!r}")
        # Validate eagerly so an invalid Cron can never exist.
        _ = self.values

    @classmethod
    def parse(cls, spec: str | Mapping[str, str | int]) -> Cron:
        """Build a Cron from ``"M H dom mon dow"`` or a mapping of some of the five fields.

        Fields missing from a mapping default to ``"*"``; integer values are accepted there.
        Raises CronError naming the first invalid field (or ``"cron"`` for shape errors).
        """
        if isinstance(spec, str):
            parts = spec.split()
            if len(parts) != len(FIELDS):
                raise CronError("cron", f"expected 5 fields, got {len(parts)}")
            return cls(*parts)
        if not isinstance(spec, Mapping):
            raise CronError("cron", f"expected a string or a mapping, got {type(spec).__name__}")
        unknown = sorted(str(k) for k in spec if k not in FIELDS)
        if unknown:
            raise CronError("cron", f"unknown field(s): {', '.join(unknown)}")
        values: dict[str, str] = {}
        for name, raw in spec.items():
            values[name] = _field_text(name, raw)
        return cls(**values)

    @cached_property
    def values(self) -> CronValues:
        """The allowed values of every field, as huey computes them."""
        return CronValues(
            minutes=_expand("minute", self.minute),
            hours=_expand("hour", self.hour),
            days=_expand("day", self.day),
            months=_expand("month", self.month),
            weekdays=_expand("day_of_week", self.day_of_week),
        )

    def matches(self, wall: datetime) -> bool:
        """True when the naive wall-clock time ``wall`` satisfies all five fields (huey's rule)."""
        v = self.values
        return (
            wall.minute in v.minutes
            and wall.hour in v.hours
            and wall.day in v.days
            and wall.month in v.months
            and wall.isoweekday() % 7 in v.weekdays
        )

    @property
    def is_interval(self) -> bool:
        """True when every hour is allowed (``*``, ``*/1``, ``0-23``...): the job recurs hourly.

        Interval jobs follow real time across DST changes; the others follow the wall clock.
        Judged on the expanded hours, not the text, so equivalent spellings behave the same.
        """
        return len(self.values.hours) == 24

    def __str__(self) -> str:
        return " ".join(getattr(self, name) for name in FIELDS)


def _field_text(name: str, raw: Any) -> str:
    # bool is an int subclass, but True/False as a cron field is surely a config mistake.
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise CronError(name, f"expected a string or an integer, got {raw!r}")
    return str(raw)
