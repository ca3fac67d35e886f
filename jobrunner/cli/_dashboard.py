"""``jobrunner dashboard FILE [--listen ADDR]``: the web dashboard alone, with no consumer.

It loads FILE without importing task modules and shows every runner that shares its
instances' storages (Redis, PostgreSQL, SQLite): queues, schedules, dead letters,
consumers; its actions work on those storages as ``jobrunner pause`` or
``jobrunner dead-letters`` do.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from jobrunner.app import App
from jobrunner.cli._load import load_quietly
from jobrunner.errors import RunnerError

DEFAULT_LISTEN = "127.0.0.1:9188"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the web dashboard of every runner sharing FILE's storages (no consumer)",
        description="Serve the web dashboard on ADDR without running any consumer: it shows "
        "the queues, schedules, dead letters and consumers of every runner that shares the "
        "storages of FILE. Any address but loopback needs http.token in FILE.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="ADDR",
        help=f"HOST:PORT to serve on (default {DEFAULT_LISTEN}; :0 picks a free port)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="turn every action off (pages only)"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="log level",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from jobrunner.web.dashboard import Dashboard, create_app
    from jobrunner.web.dashboard._serve import serve

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_quietly(args.file)
    http = getattr(config, "http", None)
    token = getattr(http, "token", None)
    host, port = _listen(args.listen)
    from jobrunner.web.dashboard._auth import is_loopback

    if not is_loopback(host) and not token:
        raise RunnerError(
            f"--listen {args.listen}: a dashboard on a non-loopback address needs http.token "
            f'in {args.file} (token: "${{JOBRUNNER_HTTP_TOKEN}}"), or listen on 127.0.0.1'
        )
    app = App(config, immediate=False)
    dash = Dashboard(app=lambda: app, mode="fleet", read_only=args.read_only, token=token)
    try:
        serve(create_app(dash), host, port, what="dashboard")
    finally:
        app.close()
    return 0


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise RunnerError(f"--listen: expected HOST:PORT (e.g. 127.0.0.1:9188), got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)
