"""A plain-English reading of a cron, for CLI listings and docs.

It works from the value sets huey expands (not from the text), so whatever spelling was used,
the sentence says what will actually fire. Day of month and day of week are ANDed in huey, and
the sentence says so ("..., only if it is a Friday") instead of implying Vixie cron's OR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._cron import Cron

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Monday first, the order people read a week in; huey numbers Sunday 0.
_WEEK_ORDER = (1, 2, 3, 4, 5, 6, 0)
_WEEKDAYS = {0: "Sunday", 1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday"}
_WEEKDAYS |= {5: "Friday", 6: "Saturday"}
# Beyond this many distinct times of day, list them as minute and hour patterns instead.
_MAX_LISTED_TIMES = 4


def describe(cron: Cron) -> str:
    """Describe when ``cron`` fires, in local wall-clock terms, e.g. ``"at 03:00 every day"``."""
    values = cron.values
    minutes, hours = sorted(values.minutes), sorted(values.hours)
    every_date = len(values.days) == 31 and len(values.weekdays) == 7 and len(values.months) == 12

    if len(hours) == 24:
        time_part = _minutes_of_every_hour(minutes)
    elif len(minutes) * len(hours) <= _MAX_LISTED_TIMES:
        times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
        time_part = "at " + _join(times)
        if every_date:
            return time_part + " every day"
    else:
        time_part = f"{_minute_pattern(minutes)}, {_hour_pattern(hours)}"

    date_parts = _date_parts(sorted(values.days), values.weekdays, sorted(values.months))
    if not date_parts:
        return time_part
    # "at 09:00 on Sunday" reads as one phrase; a bare "Monday to Friday" needs the comma.
    flows = "," not in time_part and date_parts[0].startswith(("on ", "in ", "from "))
    separator = " " if flows else ", "
    return time_part + separator + ", ".join(date_parts)


def _minutes_of_every_hour(minutes: list[int]) -> str:
    if len(minutes) == 60:
        return "every minute"
    step = _uniform_step(minutes, 60)
    if step is not None:
        return f"every {step} minutes"
    return f"at {_plural('minute', minutes)} {_numbers(minutes)} of every hour"


def _minute_pattern(minutes: list[int]) -> str:
    if len(minutes) == 60:
        return "every minute"
    step = _uniform_step(minutes, 60)
    if step is not None:
        return f"every {step} minutes"
    return f"at {_plural('minute', minutes)} {_numbers(minutes)}"


def _hour_pattern(hours: list[int]) -> str:
    step = _uniform_step(hours, 24)
    if step is not None:
        return f"in every {_ordinal(step)} hour from 00:00"
    runs = _circular_runs(hours, 0, 23)
    if all(len(run) > 1 for run in runs):
        if len(runs) == 1:
            return f"between {runs[0][0]:02d}:00 and {runs[0][-1]:02d}:59"
        return _join([f"from {run[0]:02d}:00 to {run[-1]:02d}:59" for run in runs])
    return f"during {_plural('hour', hours)} " + _join([f"{h:02d}" for h in hours])


def _date_parts(days: list[int], weekdays: frozenset[int], months: list[int]) -> list[str]:
    parts = []
    weekday_list = [d for d in _WEEK_ORDER if d in weekdays]
    if len(days) < 31:
        parts.append(f"on {_plural('day', days)} {_numbers(days)} of the month")
        if len(weekdays) < 7:
            names = _join([_WEEKDAYS[d] for d in weekday_list], final=" or ")
            parts.append(f"only if it is a {names}")
    elif len(weekdays) < 7:
        parts.append(_weekday_phrase(weekday_list))
    if len(months) < 12:
        runs = _circular_runs(months, 1, 12)
        if len(runs) == 1 and len(runs[0]) >= 3:
            parts.append(f"from {_MONTHS[runs[0][0] - 1]} to {_MONTHS[runs[0][-1] - 1]}")
        else:
            parts.append("in " + _ranges(months, lambda m: _MONTHS[m - 1], sep=" to "))
    return parts


def _weekday_phrase(weekdays: list[int]) -> str:
    positions = [_WEEK_ORDER.index(d) for d in weekdays]
    runs = _circular_runs(positions, 0, 6)
    if len(runs) == 1 and len(runs[0]) >= 3:
        run = runs[0]
        return f"{_WEEKDAYS[_WEEK_ORDER[run[0]]]} to {_WEEKDAYS[_WEEK_ORDER[run[-1]]]}"
    return "on " + _ranges(positions, lambda p: _WEEKDAYS[_WEEK_ORDER[p]], sep=" to ")


def _numbers(values: list[int]) -> str:
    return _ranges(values, str, sep=" to ")


def _ranges(values: list[int], name: Callable[[int], str], sep: str) -> str:
    # Runs of three or more read better as a range; pairs stay a list ("1 and 2").
    items: list[str] = []
    for run in _runs(values):
        if len(run) >= 3:
            items.append(f"{name(run[0])}{sep}{name(run[-1])}")
        else:
            items.extend(name(v) for v in run)
    return _join(items)


def _runs(values: Sequence[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return runs


def _circular_runs(values: list[int], first: int, last: int) -> list[list[int]]:
    """Like _runs, but a run touching both ends of the cycle (e.g. 22, 23, 0, 1) is one run."""
    runs = _runs(values)
    if len(runs) > 1 and runs[0][0] == first and runs[-1][-1] == last:
        runs = [runs[-1] + runs[0], *runs[1:-1]]
    return runs


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _uniform_step(values: list[int], size: int) -> int | None:
    """The n in "every n" when values are exactly 0, n, 2n, ... and n divides size evenly."""
    # A step that does not divide the cycle (e.g. */7 in minutes) leaves a short gap at the
    # wrap, so "every 7 minutes" would be false; such sets are listed instead.
    if len(values) < 2 or values[0] != 0:
        return None
    step = values[1]
    if size % step or values != list(range(0, size, step)):
        return None
    return step


def _plural(word: str, values: Sequence[int]) -> str:
    return word if len(values) == 1 else word + "s"


def _join(items: Sequence[str], final: str = " and ") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + final + items[-1]
