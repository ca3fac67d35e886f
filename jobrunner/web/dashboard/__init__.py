"""The web dashboard: pages, actions and live updates over a :class:`Dashboard`.

:func:`dashboard_routes` gives its Starlette routes, which the runner's endpoint
(``jobrunner.web``) serves beside ``/metrics``; :func:`runner_dashboard` builds the
:class:`Dashboard` of ``jobrunner run``, ``jobrunner dashboard`` one of its own.
The dashboard checks the token itself on its paths (:func:`owns`), so that a
browser without it is sent to the login form instead of getting a bare 401.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jobrunner.web._auth import token_matches
from jobrunner.web.dashboard import _actions, _auth, _routes
from jobrunner.web.dashboard._context import Dashboard, FileStatus, Rejected, Status
from jobrunner.web.dashboard._live import Live
from jobrunner.web.dashboard._render import FRAGMENT_HEADER, personal, render
from jobrunner.web.dashboard._runner import runner_dashboard

__all__ = [
    "Dashboard",
    "FileStatus",
    "Rejected",
    "Status",
    "dashboard_routes",
    "owns",
    "runner_dashboard",
]

#: First path segments the dashboard serves (and guards with the token itself).
_PATHS = frozenset(
    {"runs", "schedules", "queue", "dead-letters", "config", "events", "login", "static", "tasks"}
)


def owns(request: Request) -> bool:
    """Whether ``request`` is for the dashboard, which checks the token itself."""
    path = request.url.path
    return path == "/" or path.split("/", 2)[1] in _PATHS


Handler = Callable[[Request], Awaitable[Response]]


def _guard(dash: Dashboard, handler: Handler, *, page: bool) -> Handler:
    """``handler`` behind the token: pages send a browser to the login form, the rest get 401."""

    async def guarded(request: Request) -> Response:
        if _auth.allowed(request, dash.token, dash.key):
            return await handler(request)
        if page and request.method == "GET":
            root = request.scope.get("root_path", "").rstrip("/")
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"{root}/login?next={target}", 303)
        return PlainTextResponse(
            "401 unauthorized: send the http.token as a bearer token or log in",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    return guarded


def _page(dash: Dashboard, live: Live, view: Callable[[Request, Dashboard], Response]) -> Handler:
    """A page view, rendered once per change for every browser that has it open."""

    async def handler(request: Request) -> Response:
        request.state.shared = True
        key = (request.url.path, request.url.query, request.headers.get(FRAGMENT_HEADER))
        response = live.cached(key)
        if response is None:
            started = time.monotonic()
            response = await run_in_threadpool(view, request, dash)
            live.spent += time.monotonic() - started
            live.keep(key, response)
        assert isinstance(response, HTMLResponse)
        return personal(request, dash, response)

    return _guard(dash, handler, page=True)


def dashboard_routes(dash: Dashboard) -> list[BaseRoute]:
    """Every route of the dashboard over ``dash``, to mount at the server's root."""
    live = Live(dash)

    def page(view: Callable[[Request, Dashboard], Response]) -> Handler:
        return _page(dash, live, view)

    def action(make: Callable[[Request], tuple[str, Callable[[str], str]]]) -> Handler:
        async def handler(request: Request) -> Response:
            label, do = make(request)

            def done(by: str) -> str:
                notice = do(by)
                live.changed()
                return notice

            return await _actions.act(request, dash, label, done)

        return _guard(dash, handler, page=False)

    def p(request: Request, key: str) -> Any:
        return request.path_params[key]

    schedule_verbs = {
        "pause": ("Pause schedule {} in every runner", _actions.pause),
        "resume": ("Resume schedule {}", _actions.resume),
        "trigger": ("Run schedule {} now, once", _actions.trigger),
    }

    def schedule_action(request: Request) -> tuple[str, Callable[[str], str]]:
        label, do = schedule_verbs[p(request, "verb")]
        name = p(request, "name")
        return label.format(name), lambda by: do(dash, name, by)

    def task_action(request: Request) -> tuple[str, Callable[[str], str]]:
        name, restore = p(request, "name"), p(request, "verb") == "restore"
        label = f"{'Restore' if restore else 'Revoke'} task {name}"
        return label, lambda by: _actions.revoke_task(dash, name, by, restore)

    def run_action(request: Request) -> tuple[str, Callable[[str], str]]:
        instance, task_id = p(request, "instance"), p(request, "id")
        restore = p(request, "verb") == "restore"
        label = f"{'Restore' if restore else 'Revoke'} run {task_id}"
        return label, lambda by: _actions.revoke_run(dash, instance, task_id, by, restore)

    def requeue_action(request: Request) -> tuple[str, Callable[[str], str]]:
        instance, letter = p(request, "instance"), p(request, "id")
        label = f"Put dead letter {letter} back on the queue of {instance}"
        return label, lambda by: _actions.requeue(dash, instance, letter, by)

    def purge_action(request: Request) -> tuple[str, Callable[[str], str]]:
        instance = p(request, "instance")
        label = f"Delete every dead letter of instance {instance}"
        return label, lambda by: _actions.purge(dash, instance, by)

    async def events(request: Request) -> Response:
        return await live.stream(request)

    async def login(request: Request) -> Response:
        return await _login(request, dash)

    static = StaticFiles(directory=str(files("jobrunner.web.dashboard") / "static"))
    return [
        Route("/", page(_routes.overview)),
        Route("/runs", page(_routes.runs)),
        Route("/schedules", page(_routes.schedules)),
        Route("/schedules/{name}", page(_routes.schedule)),
        Route("/queue", page(_routes.queue)),
        Route("/dead-letters", page(_routes.dead_letters)),
        Route("/config", page(_routes.configuration)),
        Route("/events", _guard(dash, events, page=False)),
        Route("/login", login, methods=["GET", "POST"]),
        Route(
            "/schedules/{name}/{verb:str}",
            action(schedule_action),
            methods=["POST"],
        ),
        Route("/tasks/{name}/{verb}", action(task_action), methods=["POST"]),
        Route("/queue/{instance}/{id}/{verb}", action(run_action), methods=["POST"]),
        Route(
            "/dead-letters/{instance}/{id:int}/requeue", action(requeue_action), methods=["POST"]
        ),
        Route("/dead-letters/{instance}/purge", action(purge_action), methods=["POST"]),
        Mount("/static", static, name="static"),
    ]


async def _login(request: Request, dash: Dashboard) -> Response:
    root = request.scope.get("root_path", "").rstrip("/")
    target = request.query_params.get("next", "/")
    if request.method == "POST":
        form = await request.form()
        target = str(form.get("next") or "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        token = str(form.get("token") or "")
        if dash.token and token_matches(token, dash.token):
            response = RedirectResponse(f"{root}{target}", 303)
            response.set_cookie(
                _auth.SESSION,
                _auth.session_value(dash.key, dash.token),
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        return render(request, dash, "login.html", status_code=401, next=target, failed=True)
    if not dash.token:
        return RedirectResponse(f"{root}/", 303)
    return render(request, dash, "login.html", next=target, failed=False)
