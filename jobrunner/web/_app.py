"""The Starlette app of the endpoint, assembled from route lists around a :class:`WebContext`.

:func:`make_app` is the one factory: the runner passes the health and metrics routes; the
dashboard adds its own routes (and, for its login, ``credential_checks``) to the same call.
Handlers reach the running state through :func:`context_of`::

    async def queues(request: Request) -> Response:
        app = context_of(request).app  # the running jobrunner App (swapped on reload)
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute

from jobrunner.web._auth import OPEN_PATHS, CredentialCheck, TokenAuth

if TYPE_CHECKING:
    from jobrunner.app import App
    from jobrunner.runtime import Runner


@dataclass
class WebContext:
    """What route handlers may read.

    ``get_app`` returns the current :class:`~jobrunner.app.App` (a reload may replace it);
    ``runner`` is the :class:`~jobrunner.runtime.Runner` inside ``jobrunner run`` (its
    ``consumers``, one per running instance) and None where no consumer runs (a stand-alone
    dashboard); ``token`` is the configured bearer token (never shown); ``extras`` is for
    what a feature hangs on the context for its own handlers (e.g. ``extras["health"]``).
    """

    get_app: Callable[[], App]
    runner: Runner | None = None
    token: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> App:
        return self.get_app()


def make_app(
    context: WebContext,
    routes: Sequence[BaseRoute] = (),
    *,
    open_paths: Collection[str] = OPEN_PATHS,
    credential_checks: Sequence[CredentialCheck] = (),
) -> Starlette:
    """A Starlette app serving ``routes``, behind the token of ``context`` (see ``_auth``)."""
    app = Starlette(
        routes=list(routes),
        middleware=[
            Middleware(
                TokenAuth,
                token=context.token,
                open_paths=open_paths,
                credential_checks=credential_checks,
            )
        ],
    )
    app.state.context = context
    return app


def context_of(request: Request) -> WebContext:
    """The :class:`WebContext` of the app serving ``request``."""
    context: WebContext = request.app.state.context
    return context
