"""``/metrics``: the runner's figures in the Prometheus text format (prometheus-client).

Each endpoint has its own :class:`~prometheus_client.CollectorRegistry` (never the global one,
so a reload or a test making a second runner cannot collide).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Info, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jobrunner import __version__

if TYPE_CHECKING:
    from jobrunner.runtime import Runner


class Metrics:
    """The registry of one runner's metrics."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.registry = CollectorRegistry()
        Info("jobrunner_build", "jobrunner version.", registry=self.registry).info(
            {"version": __version__}
        )
        up = Gauge(
            "jobrunner_consumers_up",
            "Consumers running in this runner (one per running instance).",
            registry=self.registry,
        )
        up.set_function(lambda: len(runner.consumers))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_routes(metrics: Metrics) -> list[Route]:
    """``/metrics`` for ``metrics``."""

    async def endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", endpoint)]
