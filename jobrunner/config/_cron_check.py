"""A schedule's ``cron:`` parsed, and its errors explained at the field that is wrong.

Parsed crons are shared: a file of ten thousand schedules holds a few dozen distinct
cron texts, and a :class:`Cron` is frozen, so one object (with its expanded values)
serves every schedule that spells it the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from jobrunner.config._limits import quote
from jobrunner.config._yaml import Document, dotted
from jobrunner.errors import Issue
from jobrunner.scheduling import Cron, CronError

FIELD_RANGES = {
    "minute": "0-59",
    "hour": "0-23",
    "day": "1-31",
    "month": "1-12",
    "day_of_week": "0-6 (0 = Sunday)",
}
_CRON_SYNTAX = "*, */n, a-b, a-b/n or a comma list of those"


# Bounded: a long-running runner reloads files whose crons change over time.
@functools.lru_cache(maxsize=4096)
def _shared(text: str) -> Cron:
    return Cron.parse(text)


def parse_cron(raw: Any, where: tuple[str, ...], doc: Document, issues: list[Issue]) -> Cron | None:
    """The :class:`Cron` of ``raw``, or None with the issue added to ``issues``."""
    if isinstance(raw, Mapping) and not set(raw) <= set(FIELD_RANGES):
        return None  # Unknown cron fields are the schema's error (with a did-you-mean).
    try:
        return _shared(raw) if isinstance(raw, str) else Cron.parse(raw)
    except CronError as exc:
        issues.append(_cron_issue(raw, exc, where, doc))
        return None


def _cron_issue(raw: Any, exc: CronError, where: tuple[str, ...], doc: Document) -> Issue:
    if exc.field not in FIELD_RANGES:
        # The shape is wrong: not five fields, or neither a string nor a mapping.
        if isinstance(raw, str):
            return doc.issue(
                where,
                f"invalid cron {quote(raw)}: expected 5 fields (minute hour day month "
                f"day_of_week), got {len(raw.split())}",
                'e.g. "*/15 * * * *" (every 15 minutes) or "0 3 * * 1-5" (03:00 on weekdays)',
            )
        return doc.issue(where, f"invalid cron: {exc.message}")
    hint = f"{exc.field} takes {FIELD_RANGES[exc.field]}, written as {_CRON_SYNTAX}"
    at = where
    if isinstance(raw, str):
        # Point at the offending field inside the string, not at the string's start.
        token = list(re.finditer(r"\S+", raw))[list(FIELD_RANGES).index(exc.field)]
        text = token.group()
        line, column = doc.column_in(where, token.start())
    else:
        at = (*where, exc.field)
        value = raw.get(exc.field)
        if isinstance(value, bool) or not isinstance(value, str | int):
            return doc.issue(at, f"invalid cron: {exc.message}", hint)
        text = str(value)
        line, column = doc.where(at)
    detail = exc.message.partition(": ")[2]
    message = f"invalid cron: {exc.field} {quote(text)} is not valid" + (
        f" ({detail})" if detail else ""
    )
    return Issue(doc.file, line, column, dotted(at), message, hint)
