"""The endpoint of ``jobrunner run``: the app, its health and metrics, and its server.

The runner makes one :class:`Endpoint` when ``http:`` or ``--http`` asks for it, calls
:meth:`~Endpoint.bind` before its consumers start (a busy port stops it before any work is
taken) and :meth:`~Endpoint.start` after they started (process workers are forked before the
server thread exists). Routes come from :func:`runner_routes`; a feature that serves pages
from the runner adds its route list there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from jobrunner.config._http import parse_listen
from jobrunner.config.model import HttpConfig
from jobrunner.web._app import WebContext, make_app
from jobrunner.web._health import Health, health_routes
from jobrunner.web._metrics import Metrics, metrics_routes
from jobrunner.web._server import HttpServer

if TYPE_CHECKING:
    from jobrunner.runtime import Runner

log = logging.getLogger("jobrunner.http")


def runner_routes(context: WebContext, health: Health, metrics: Metrics) -> list[BaseRoute]:
    """Every route ``jobrunner run`` serves."""
    return [*health_routes(health), *metrics_routes(metrics)]


class Endpoint:
    """The HTTP endpoint of ``runner`` as ``http`` configures it."""

    def __init__(self, runner: Runner, http: HttpConfig) -> None:
        self.http = http
        host, port = parse_listen(http.listen)
        self.health = Health(runner)
        self.metrics = Metrics(runner)
        self.health.on_failure = lambda name: self.metrics.storage_errors.labels(name).inc()
        self.context = WebContext(
            get_app=runner.app_or_fail,
            runner=runner,
            token=http.token,
            extras={"health": self.health, "metrics": self.metrics},
        )
        routes = runner_routes(self.context, self.health, self.metrics)
        checks = []
        # The dashboard (docs/dashboard.md) shares the address and the token.
        from jobrunner.web.dashboard import dashboard_routes, owns, runner_dashboard

        self.dashboard = runner_dashboard(runner, http, host)
        if self.dashboard is not None:
            routes = [*routes, *dashboard_routes(self.dashboard)]
            checks.append(owns)
        app = make_app(self.context, routes, credential_checks=checks)
        self.server = HttpServer(app, host, port)

    def bind(self) -> None:
        self.server.bind()

    def start(self) -> None:
        self.server.start()
        self.health.start()
        log.info(
            "http endpoint on %s (/metrics, /healthz, /readyz)%s",
            self.server.url,
            ", token required" if self.http.token else "",
        )
        if self.dashboard is not None:
            log.info(
                "dashboard on %s/%s",
                self.server.url,
                " (read-only)" if self.dashboard.read_only else "",
            )

    def stop(self) -> None:
        self.health.stop()
        self.metrics.close()
        if self.dashboard is not None:
            self.dashboard.close()  # ends its event streams, which a graceful stop waits for
        self.server.stop()
