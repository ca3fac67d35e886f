"""The HTTP server of a runner: uvicorn serving an ASGI app from a thread of this process.

:class:`HttpServer` binds its socket in :meth:`~HttpServer.bind`, on the caller's thread, so a
busy port or a bad address is a :class:`~jobrunner.errors.RunnerError` (one clear line, exit 1)
before any consumer starts; :meth:`~HttpServer.start` then serves on a daemon thread, and
:meth:`~HttpServer.stop` asks uvicorn to finish and joins it. Port 0 picks a free port:
:attr:`~HttpServer.url` is the real address once bound.

uvicorn installs no signal handlers off the main thread, so the runner keeps its own; its
logging setup is switched off (``log_config=None``) so it cannot replace jobrunner's.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import Any

import uvicorn

from jobrunner._forksafe import after_fork
from jobrunner.errors import RunnerError

log = logging.getLogger("jobrunner.http")

# uvicorn says "Started server process", "Uvicorn running on" at INFO: the runner logs its own
# line with the real address instead.
logging.getLogger("uvicorn.error").setLevel(logging.WARNING)

_STOP_WAIT = 5.0


class HttpServer:
    """One uvicorn server for ``app`` on ``host:port`` (port 0: a free one)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` with the bound port (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def bind(self) -> None:
        """Take the address now; raise :class:`RunnerError` when it cannot be had."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        except OSError as exc:
            raise RunnerError(_bind_message(self.host, self.port, exc)) from None
        self.port = sock.getsockname()[1]
        self._socket = sock
        # Process workers are forked after this: a worker left behind by a killed runner
        # must not keep the port, or the restarted runner could not listen again.
        after_fork(sock, _close)

    def start(self) -> None:
        """Serve on a daemon thread (binding first if :meth:`bind` was not called)."""
        if self._socket is None:
            self.bind()
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            loop="asyncio",
            http="h11",
        )
        self._server = uvicorn.Server(config)
        sockets = [self._socket]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name="http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_WAIT)
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _close(sock: socket.socket) -> None:
    sock.close()


def _bind_message(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is in use (another runner?); "
            "choose another port in http.listen or --http, or :0 for a free one"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no such address on this machine"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {where}: unknown host name"
    return f"cannot listen on {where}: {exc.strerror or exc}"
