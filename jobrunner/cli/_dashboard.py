"""``jobrunner dashboard FILE [--listen ADDR]``: the web dashboard alone, with no consumer.

It loads FILE without importing task modules and shows every runner that shares its
instances' storages (Redis, PostgreSQL, SQLite): queues, schedules, runs, dead
letters, consumers. Its actions work on those storages as ``jobrunner pause`` or
``jobrunner dead-letters`` do, and are written to the instances' event sinks.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import replace
from typing import Any

from jobrunner.app import App
from jobrunner.cli._load import load_quietly
from jobrunner.errors import RunnerError

DEFAULT_LISTEN = "127.0.0.1:9188"

log = logging.getLogger("jobrunner.dashboard")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the web dashboard of every runner sharing FILE's storages (no consumer)",
        description="Serve the web dashboard on ADDR without running any consumer: it shows "
        "the queues, schedules, runs, dead letters and consumers of every runner that shares "
        "the storages of FILE. An address other than loopback needs http.token in FILE "
        "(docs/dashboard.md). SIGINT or SIGTERM stops it.",
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
    from jobrunner import events
    from jobrunner.config._http import exposure_hint, exposure_problem, parse_listen
    from jobrunner.config.model import HttpConfig
    from jobrunner.web import HttpServer, WebContext, make_app
    from jobrunner.web.dashboard import Dashboard, dashboard_routes, owns
    from jobrunner.web.dashboard._runner import read_only_for

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = load_quietly(args.file)
    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        raise RunnerError(f"--listen: {exc}") from None
    http = replace(config.http or HttpConfig(), listen=args.listen)
    problem = exposure_problem(http)
    if problem is not None:
        raise RunnerError(f"--listen: {problem}; {exposure_hint()}")
    app = App(config, immediate=False)
    for name, instance in config.instances.items():
        if not instance.immediate and instance.backend != "memory":
            events.wire_instance(instance, app.huey(name))  # actions reach the event sinks
    read_only = args.read_only or read_only_for(http, host)
    dash = Dashboard(app=lambda: app, mode="fleet", read_only=read_only, token=http.token)
    context = WebContext(get_app=lambda: app, token=http.token)
    web = make_app(context, dashboard_routes(dash), credential_checks=[owns])
    server = HttpServer(web, host, port)
    server.bind()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    log.info("dashboard on %s/%s", server.url, " (read-only)" if read_only else "")
    try:
        stop.wait()
    finally:
        dash.close()
        server.stop()
        events.hub().flush()
        app.close()
    log.info("stopped")
    return 0
