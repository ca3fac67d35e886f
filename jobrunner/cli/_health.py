"""``jobrunner health FILE``: ask the running runner's endpoint for its verdict; exit 0 or 1.

For systemd (``ExecStartPost``/watchdog scripts) and Docker's ``HEALTHCHECK``: the same
checks as ``/readyz`` (or ``/healthz`` with ``--live``), printed one per line.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from jobrunner.config import load_config
from jobrunner.config._http import DEFAULT_LISTEN, parse_listen
from jobrunner.errors import RunnerError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "health",
        help="ask a running `jobrunner run` whether it is ready (exit 0) or not (exit 1)",
        description="Query the endpoint that FILE's http section (or --http) names: /readyz, "
        "or /healthz with --live. Prints every check; exits 0 when all pass, 1 otherwise "
        "(including when no runner answers).",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml the runner runs")
    parser.add_argument(
        "--http", metavar="ADDR", help="the endpoint's HOST:PORT (default: FILE's http.listen)"
    )
    parser.add_argument(
        "--live", action="store_true", help="liveness (/healthz) instead of readiness"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS", help="how long to wait"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    http = load_config(args.file, check_imports=False).config.http
    listen = args.http or (http.listen if http is not None else DEFAULT_LISTEN)
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise RunnerError(f"--http: {exc}") from None
    if port == 0:
        raise RunnerError(
            f"{args.file}: http.listen has port 0 (chosen at start); "
            "give the address the runner logged with --http HOST:PORT"
        )
    url = f"{_base(host, port)}{'/healthz' if args.live else '/readyz'}"
    request = urllib.request.Request(url)
    if http is not None and http.token:
        request.add_header("Authorization", f"Bearer {http.token}")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RunnerError(f"no runner answers at {url} ({reason})") from None
    try:
        verdict = json.loads(body)
        checks = verdict["checks"]
    except (ValueError, KeyError, TypeError):
        raise RunnerError(f"{url} answered {status} without a health report") from None
    if args.format == "json":
        print(json.dumps(verdict, indent=2))
    else:
        for name, check in checks.items():
            print(f"{'ok' if check['ok'] else 'FAIL':4}  {name}: {check['detail']}")
        print(
            f"{url}: {'ready' if status == 200 else 'not ready'}"
            if not args.live
            else f"{url}: {'alive' if status == 200 else 'not alive'}"
        )
    return 0 if status == 200 else 1


def _base(host: str, port: int) -> str:
    # A runner listening on every address answers on loopback.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
