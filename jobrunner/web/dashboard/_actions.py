"""The dashboard's actions: each an HTML ``POST`` form, confirmed, CSRF-checked, recorded.

Every action calls the code the command line uses: pause flags of
``scheduling._state`` (``jobrunner pause``), huey's own revoke and restore, the
delivery stores' requeue and purge (``jobrunner dead-letters``). Each one done is
passed to :attr:`Dashboard.record` with who did it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jobrunner import events
from jobrunner.delivery import short_task_name
from jobrunner.scheduling._state import ScheduleState
from jobrunner.web.dashboard import _auth, _csrf, _data
from jobrunner.web.dashboard._context import Dashboard
from jobrunner.web.dashboard._render import render

log = logging.getLogger("jobrunner.dashboard")


class Refused(Exception):
    """An action that cannot be done as asked (unknown name, nothing there): a 404 page."""


def _safe_back(value: object) -> str:
    """Where to return after an action: a path on this server only."""
    text = str(value or "/")
    return text if text.startswith("/") and not text.startswith("//") else "/"


async def act(request: Request, dash: Dashboard, label: str, do: Callable[[str], str]) -> Response:
    """Check, confirm, then run ``do(by)``, which returns the notice to show."""
    form = await request.form()
    if dash.read_only:
        return _refuse(request, dash, "The dashboard is read-only: actions are turned off.")
    if not _csrf.valid(request, dash.key, form.get(_csrf.FIELD)):
        return _refuse(request, dash, "The form's CSRF token is missing or wrong: reload the page.")
    back = _safe_back(form.get("back"))
    if form.get("confirm") != "yes":
        return render(
            request,
            dash,
            "confirm.html",
            question=f"{label}?",
            action_url=request.url.path,
            back=back,
        )
    by = _auth.who(request, dash.token)
    from starlette.concurrency import run_in_threadpool

    try:
        notice = await run_in_threadpool(do, by)
    except Refused as exc:
        return render(
            request, dash, "message.html", status_code=404, heading="Not done", message=str(exc)
        )
    separator = "&" if "?" in back else "?"
    root = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{root}{back}{separator}{urlencode({'notice': notice})}", 303)


def _refuse(request: Request, dash: Dashboard, message: str) -> Response:
    return render(
        request, dash, "message.html", status_code=403, heading="Forbidden", message=message
    )


def _record(action: str, by: str, *, instance: str, **fields: Any) -> None:
    """Log the action and write it to the event stream (``action`` events, who in ``by``)."""
    data = {"action": action, "by": by, **fields.pop("data", {})}
    log.info(
        "dashboard: %s by %s (instance %s%s)",
        action,
        by,
        instance,
        "".join(f", {k} {v}" for k, v in fields.items() if v is not None),
    )
    events.emit(events.ACTION, instance=instance, data=data, **fields)


def _schedule_state(dash: Dashboard, name: str) -> tuple[Any, ScheduleState]:
    config = dash.config
    if name not in config.schedules:
        raise Refused(f"There is no schedule {name!r} in the configuration.")
    instance = config.instances[config.schedules[name].instance]
    if not _data.shared(instance):
        raise Refused(f"Instance {instance.name!r} keeps no state that runners share.")
    return instance, ScheduleState(dash.hueys()[instance.name].storage)


def pause(dash: Dashboard, name: str, by: str) -> str:
    instance, state = _schedule_state(dash, name)
    done = state.pause(name, by=by)
    _record("pause", by, instance=instance.name, schedule=name, data={"changed": done})
    return f"Paused {name}." if done else f"{name} was already paused."


def resume(dash: Dashboard, name: str, by: str) -> str:
    instance, state = _schedule_state(dash, name)
    done = state.resume(name)
    _record("resume", by, instance=instance.name, schedule=name, data={"changed": done})
    return f"Resumed {name}." if done else f"{name} was not paused."


def trigger(dash: Dashboard, name: str, by: str) -> str:
    """Enqueue one run of schedule ``name`` now (outside its cron; no tick is claimed)."""
    instance, _ = _schedule_state(dash, name)
    result = dash.app().schedules[name]()
    task_id = getattr(result, "id", None) or "?"
    _record("trigger", by, instance=instance.name, schedule=name, id=task_id)
    return f"Enqueued a run of {name} (task {task_id})."


def revoke_task(dash: Dashboard, name: str, by: str, restore: bool) -> str:
    wrapper = dash.app().tasks.get(name)
    if wrapper is None:
        raise Refused(f"There is no task {name!r} in the configuration.")
    if restore:
        wrapper.restore()
    else:
        wrapper.revoke()
    instance = dash.config.tasks[name].instance
    _record("restore" if restore else "revoke", by, instance=instance, task=name)
    return f"{'Restored' if restore else 'Revoked'} task {name}."


def revoke_run(dash: Dashboard, instance: str, task_id: str, by: str, restore: bool) -> str:
    app_huey = dash.hueys().get(instance)
    if app_huey is None:
        raise Refused(f"There is no instance {instance!r} in the configuration.")
    if restore:
        app_huey.restore_by_id(task_id)
    else:
        app_huey.revoke_by_id(task_id)
    _record("restore" if restore else "revoke", by, instance=instance, id=task_id)
    return f"{'Restored' if restore else 'Revoked'} run {task_id}."


def requeue(dash: Dashboard, instance: str, letter: int, by: str) -> str:
    store = _store(dash, instance)
    found = store.requeue(letter)
    if found is None:
        raise Refused(f"Dead letter {letter} of instance {instance} is gone.")
    _record(
        "requeue",
        by,
        instance=instance,
        task=short_task_name(found.task),
        data={"dead_letter": letter},
    )
    return f"Requeued dead letter {letter} (task {short_task_name(found.task)})."


def purge(dash: Dashboard, instance: str, by: str) -> str:
    count = _store(dash, instance).purge()
    _record("purge", by, instance=instance, data={"count": count})
    return f"Purged {count} dead letter{'' if count == 1 else 's'} of {instance}."


def _store(dash: Dashboard, instance: str) -> Any:
    app_huey = dash.hueys().get(instance)
    found = _data.store(app_huey) if app_huey is not None else None
    if found is None:
        raise Refused(f"Instance {instance!r} keeps no dead letters.")
    found.setup()
    return found
