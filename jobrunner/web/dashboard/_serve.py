"""Serving the stand-alone dashboard in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

import uvicorn

from jobrunner.errors import RunnerError

log = logging.getLogger("jobrunner.dashboard")


def serve(app: Any, host: str, port: int, *, what: str) -> None:
    """Bind ``host:port`` (a busy port is a :class:`RunnerError`), log the URL, serve."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise RunnerError(f"cannot listen on {host}:{port}: {reason}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    log.info("%s on http://%s:%d/", what, shown, bound)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", server_header=False, http="h11"
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
