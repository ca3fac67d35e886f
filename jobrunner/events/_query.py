"""History queries across a config's instances: what ``app.history()`` and
``jobrunner history`` ask, with times given as datetimes, epoch seconds or "1h" (ago)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from jobrunner.config.model import InstanceConfig
from jobrunner.events._history import History, HistoryQuery
from jobrunner.events._model import Event

TimeLike = datetime | timedelta | float | int | str


def moment(value: TimeLike | None, now: float | None = None) -> float | None:
    """Epoch seconds of ``value``: a datetime (naive is UTC), epoch seconds, or a duration
    (``timedelta``, ``"90m"``, ``"1h"``) counted back from now."""
    from jobrunner.config._duration import parse_duration

    if value is None:
        return None
    current = time.time() if now is None else now
    if isinstance(value, datetime):
        if value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, timedelta):
        return current - value.total_seconds()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return current - parse_duration(value)
    return float(value)


def make_query(
    *,
    task: str | None = None,
    schedule: str | None = None,
    status: str | Iterable[str] | None = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
    limit: int = 100,
) -> HistoryQuery:
    statuses = None
    if status is not None:
        statuses = frozenset([status] if isinstance(status, str) else status)
    return HistoryQuery(
        task=task,
        schedule=schedule,
        statuses=statuses,
        since=moment(since),
        until=moment(until),
        limit=limit,
    )


def query_all(histories: Mapping[str, History], query: HistoryQuery) -> list[Event]:
    """Matching events of every history, newest first, at most ``query.limit`` in all."""
    found: list[Event] = []
    for history in histories.values():
        found.extend(history.query(query))
    found.sort(key=lambda e: e.ts, reverse=True)
    return found[: query.limit]


def describe_query(query: HistoryQuery) -> dict[str, Any]:
    return {k: v for k, v in query.__dict__.items() if v is not None}


def histories_of(
    instances: Mapping[str, InstanceConfig], storages: Mapping[str, Any], only: str | None = None
) -> dict[str, History]:
    """The histories that exist among ``instances`` (``storages``: their huey storages)."""
    from jobrunner.errors import UnknownNameError
    from jobrunner.events._history import history_for
    from jobrunner.status import guarded

    if only is not None and only not in instances:
        raise UnknownNameError("instance", only, instances)
    found: dict[str, History] = {}
    for name, instance in instances.items():
        if (only is not None and name != only) or name not in storages:
            continue
        history = history_for(storages[name])
        if history is not None and guarded(instance, history.exists):
            found[name] = history
    return found
