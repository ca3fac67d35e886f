"""Checks and positions shared by the resolution of instances, tasks and schedules."""

from __future__ import annotations

import difflib
import functools
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jobrunner.config._limits import quote
from jobrunner.config._yaml import Document
from jobrunner.config.model import Location
from jobrunner.errors import MAX_SHOWN, Issue


def location(doc: Document, path: tuple[str, ...]) -> Location:
    line, column = doc.where(path, key=True)
    return Location(doc.file, line, column)


def check_zone(zone: Any, where: tuple[str, ...], doc: Document, issues: list[Issue]) -> None:
    if zone in ("UTC", "local") or not isinstance(zone, str):
        return  # A zone that is not a string is the schema's error.
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        close = close_match(zone, zone_names(), issues)
        hint = (
            f"did you mean {close!r}?"
            if close
            else "use an IANA name such as Europe/Berlin, or UTC, or local"
        )
        issues.append(doc.issue(where, f"unknown time zone {quote(zone)}", hint))


@functools.cache
def zone_names() -> list[str]:
    # available_timezones() walks the zone folders: once per process, not per zone.
    return sorted(available_timezones())


def close_match(word: str, choices: list[str], issues: list[Issue]) -> str | None:
    """The choice closest to ``word`` for a did-you-mean hint, when the hint can be read."""
    if len(issues) >= MAX_SHOWN:
        return None  # past the errors that are printed: a hostile file must not cost this
    found = difflib.get_close_matches(word, choices, n=1)
    return found[0] if found else None
