"""The dashboard's pages: overview, runs, schedules, queue, dead letters, configuration.

Each page is a plain GET that renders server-side (readable without JavaScript); the
live-update script asks the same URL for its ``<main>`` only. Handlers are sync
functions: Starlette runs them in its thread pool, so storage round trips never
block the event loop.
"""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from jobrunner import events
from jobrunner.delivery import short_task_name
from jobrunner.events import Event
from jobrunner.factory import safe_target
from jobrunner.scheduling._plan import now_utc
from jobrunner.web.dashboard import _data
from jobrunner.web.dashboard._context import Dashboard, Rejected, problems
from jobrunner.web.dashboard._render import render

#: Outcomes the runs page filters by (``jobrunner.events`` statuses that end a run).
OUTCOMES = tuple(sorted(events.OUTCOMES))
#: Seconds the overview's chart is reused for.
CHART_FOR = 10.0
PERIODS = (("", "any time"), ("3600", "last hour"), ("86400", "last day"), ("604800", "last week"))


def _page_no(request: Request) -> int:
    try:
        return max(int(request.query_params.get("page", "0")), 0)
    except ValueError:
        return 0


def overview(request: Request, dash: Dashboard) -> Response:
    latest, error = _data.runs(dash, limit=8)
    chart, capped = _chart(dash)
    return render(
        request,
        dash,
        "overview.html",
        instances=_data.instances(dash),
        chart=chart,
        peak=max((runs for runs, _ in chart or []), default=0) or 1,
        total=sum(r for r, _ in chart or []),
        failed=sum(f for _, f in chart or []),
        runs=None if latest is None else _rows(dash, latest),
        runs_error=error,
        capped=capped,
    )


def _chart(dash: Dashboard) -> tuple[list[tuple[int, int]] | None, bool]:
    """Runs and failures per minute over the last hour, computed at most every CHART_FOR s
    (reading an hour of runs is the dearest thing a page does; its bars move by minutes)."""
    kept = dash.extra.get("chart")
    if kept is not None and time.monotonic() - kept[0] < CHART_FOR:
        return kept[1], kept[2]
    hour, _ = _data.runs(dash, since=time.time() - 3600, limit=_data.CHART_LIMIT)
    chart = _data.per_minute(hour) if hour is not None else None
    capped = hour is not None and len(hour) >= _data.CHART_LIMIT
    dash.extra["chart"] = (time.monotonic(), chart, capped)
    return chart, capped


def _rows(dash: Dashboard, events: list[Event]) -> list[dict[str, Any]]:
    config = dash.config
    return [{"e": e, "attempt": _data.attempts(config, e)} for e in events]


def runs(request: Request, dash: Dashboard) -> Response:
    params = request.query_params
    filters = {k: params.get(k, "") for k in ("task", "schedule", "outcome", "since")}
    query: dict[str, Any] = {}
    if filters["task"]:
        query["task"] = filters["task"]
    if filters["schedule"]:
        query["schedule"] = filters["schedule"]
    if filters["outcome"] in OUTCOMES:
        query["status"] = filters["outcome"]
    if filters["since"].isdigit():
        query["since"] = time.time() - int(filters["since"])
    found, error = _data.runs(dash, **query)
    config = dash.config
    return render(
        request,
        dash,
        "runs.html",
        runs=None if found is None else _rows(dash, found),
        runs_error=error,
        filters=filters,
        tasks=sorted(config.tasks),
        schedule_names=sorted(config.schedules),
        outcomes=OUTCOMES,
        periods=PERIODS,
    )


def schedules(request: Request, dash: Dashboard) -> Response:
    page = _page_no(request)
    total = len(dash.config.schedules)
    return render(
        request,
        dash,
        "schedules.html",
        schedules=_data.schedules(dash, now_utc(), page),
        total=total,
        page_no=page,
        pages=math.ceil(total / _data.SCHEDULES_PER_PAGE),
    )


def schedule(request: Request, dash: Dashboard) -> Response:
    name = request.path_params["name"]
    found = _data.schedules(dash, now_utc(), only=name)
    if not found:
        return not_found(request, dash, f"There is no schedule {name!r} in the configuration.")
    runs, error = _data.runs(dash, schedule=name, limit=20)
    return render(
        request,
        dash,
        "schedule.html",
        s=found[0],
        runs=None if runs is None else _rows(dash, runs),
        runs_error=error,
    )


def queue(request: Request, dash: Dashboard) -> Response:
    queued, errors = _data.queue(dash, _page_no(request))
    config = dash.config
    handles = dash.app().tasks
    tasks = []
    for name, task in config.tasks.items():
        wrapper = handles.get(name)
        revoked, _ = _data.guarded(config.instances[task.instance], wrapper.is_revoked)
        tasks.append(
            {
                "name": name,
                "function": task.function,
                "instance": task.instance,
                "revoked": bool(revoked),
            }
        )
    in_flight = [
        {"instance": i.name, "consumer": f.consumer, "count": f.count, "lease": f.lease_expires}
        for i in _data.instances(dash)
        if i.status is not None
        for f in i.status.in_flight
    ]
    return render(
        request,
        dash,
        "queue.html",
        tasks=tasks,
        queued=queued,
        in_flight=in_flight,
        errors_by_instance=errors,
    )


def dead_letters(request: Request, dash: Dashboard) -> Response:
    letters, errors = _data.dead_letters(dash)
    return render(
        request,
        dash,
        "dead_letters.html",
        letters=letters,
        instances_with_letters=sorted({name for name, _ in letters}),
        errors_by_instance=errors,
        short=short_task_name,
    )


def configuration(request: Request, dash: Dashboard) -> Response:
    config = dash.config
    status = dash.status
    last = status.rejected
    if last is None and dash.mode == "fleet":
        # No reload happens here: the runners' own rejections are in their history.
        found, _ = _data.runs(dash, status=events.RELOAD_REJECTED, limit=1)
        last = Rejected.of(found[0]) if found else None
    rejected = problems(last.issues) if last else []
    instances = [
        {
            "name": name,
            "backend": i.backend,
            "target": safe_target(i),
            "workers": i.consumer.workers,
            "worker_type": i.consumer.worker_type,
            "delivery": i.delivery,
        }
        for name, i in config.instances.items()
    ]
    return render(
        request,
        dash,
        "config.html",
        path=str(config.path),
        status=status,
        last=last,
        rejected_lines=_data.mask_all(config, rejected),
        instances=instances,
        tasks=list(config.tasks.values()),
        schedule_count=len(config.schedules),
    )


def not_found(request: Request, dash: Dashboard, message: str) -> Response:
    return render(
        request, dash, "message.html", status_code=404, heading="Not found", message=message
    )
