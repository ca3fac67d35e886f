"""Time-zone names of the config, resolved to tzinfo objects."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo


@cache
def zone(name: str) -> tzinfo:
    """The tzinfo of ``name``: an IANA name, ``UTC``, or ``local`` (this machine's zone)."""
    if name == "UTC":
        return UTC
    if name == "local":
        return _local_zone()
    return ZoneInfo(name)


def _local_zone() -> tzinfo:
    localtime = Path("/etc/localtime")
    if localtime.exists():
        with localtime.open("rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    # No zone database entry: a fixed offset is the best that can be known.
    return datetime.now().astimezone().tzinfo or UTC
