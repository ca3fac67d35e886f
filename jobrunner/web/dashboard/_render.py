"""Jinja2 templates (autoescaped: task errors are attacker-controlled text) and their filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from jobrunner.web.dashboard import _csrf
from jobrunner.web.dashboard._context import Dashboard

#: The header the live-update script sends to get only a page's ``<main>``.
FRAGMENT_HEADER = "x-dashboard-fragment"
#: Stands for the browser's CSRF token in a page rendered once for every open page.
TOKEN_SLOT = "csrf-token-of-this-browser"

_env = Environment(
    loader=PackageLoader("jobrunner.web.dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # The templates ship with the package: no stat of each file at every render.
    auto_reload=False,
)


def _when(value: datetime | float | None) -> str:
    if not isinstance(value, datetime | int | float):
        return "-"
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(float(value), UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _ago(value: float | None) -> str:
    if not isinstance(value, int | float) or not value:
        return "-"
    seconds = max(datetime.now(UTC).timestamp() - float(value), 0.0)
    if seconds < 60:
        return f"{seconds:.0f}s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _seconds(value: float | None) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


_env.filters.update(when=_when, ago=_ago, count=_count, seconds=_seconds)


def render(
    request: Request, dash: Dashboard, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` rendered as a page, or only its ``<main>`` for the live-update script."""
    root = request.scope.get("root_path", "").rstrip("/")
    shared = getattr(request.state, "shared", False)
    values = {
        "root": root,
        "page": template.removesuffix(".html"),
        "csrf": TOKEN_SLOT if shared else _csrf.token_for(request, dash.key),
        "read_only": dash.read_only,
        "mode": dash.mode,
        "config_path": dash.config.path.name,
        "fragment": request.headers.get(FRAGMENT_HEADER) == "1",
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "notice": request.query_params.get("notice"),
        **context,
    }
    response = HTMLResponse(_env.get_template(template).render(values), status_code=status_code)
    if not shared:
        _csrf.set_cookie(request, response)
    return response


def personal(request: Request, dash: Dashboard, shared: HTMLResponse) -> HTMLResponse:
    """A page rendered with :data:`TOKEN_SLOT`, given this browser's token (and cookie)."""
    token = _csrf.token_for(request, dash.key).encode()
    body = bytes(shared.body).replace(TOKEN_SLOT.encode(), token)
    response = HTMLResponse(body, status_code=shared.status_code)
    _csrf.set_cookie(request, response)
    return response
