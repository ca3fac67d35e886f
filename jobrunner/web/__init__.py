"""The runner's HTTP endpoint (Starlette on uvicorn): ``/metrics``, ``/healthz``, ``/readyz``.

Stable names for features that serve pages of their own (the dashboard):

- :class:`WebContext`: what handlers read (the running ``App``, the ``Runner`` or None, the
  token); :func:`context_of(request) <context_of>` returns it inside a handler.
- :func:`make_app(context, routes, *, open_paths, credential_checks) <make_app>`: the one app
  factory, token auth included (``_auth.TokenAuth``: bearer header, extra credential checks).
- :class:`HttpServer(app, host, port) <HttpServer>`: ``bind()`` (busy port -> ``RunnerError``),
  ``start()`` (uvicorn on a thread), ``stop()``, ``url``.
- :class:`Endpoint`: what ``jobrunner run`` starts; its routes come from ``runner_routes``.
"""

from __future__ import annotations

from jobrunner.web._app import WebContext, context_of, make_app
from jobrunner.web._auth import OPEN_PATHS, TokenAuth, bearer_token, token_matches
from jobrunner.web._endpoint import Endpoint, runner_routes
from jobrunner.web._health import Check, Health, health_routes
from jobrunner.web._metrics import Metrics, metrics_routes
from jobrunner.web._server import HttpServer

__all__ = [
    "OPEN_PATHS",
    "Check",
    "Endpoint",
    "Health",
    "HttpServer",
    "Metrics",
    "TokenAuth",
    "WebContext",
    "bearer_token",
    "context_of",
    "health_routes",
    "make_app",
    "metrics_routes",
    "runner_routes",
    "token_matches",
]
