"""The ``http:`` section: where the runner's endpoint listens, and the loopback-or-token rule.

Listening anywhere but loopback exposes task names, queue sizes and schedule times to the
network; without ``token`` that is refused here (validate time, with the key's position)
unless the file says ``public: true``. ``jobrunner run --http ADDR`` goes through the same
rule (:func:`check_exposure`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from jobrunner.config._yaml import Document
from jobrunner.config.model import HttpConfig, Location
from jobrunner.errors import Issue

DEFAULT_LISTEN = "127.0.0.1:9187"
_HINT_TOKEN = (
    'add token: "${JOBRUNNER_HTTP_TOKEN}" (and export it), listen on 127.0.0.1, '
    "or set public: true if this network is trusted"
)


# http.dashboard as the schema allows it -> HttpConfig.dashboard.
_DASHBOARD: dict[object, str] = {True: "on", False: "off", "read-only": "read-only"}


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as ``(host, port)``; an empty host is 127.0.0.1. Raises ``ValueError``."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range (0-65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"write an IPv6 address in brackets: [{host}]:{port}")
    return host or "127.0.0.1", port


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # Any other name may resolve to a routable address.


def exposure_problem(http: HttpConfig) -> str | None:
    """Why ``http`` may not start as configured, or None when it may."""
    host, _ = parse_listen(http.listen)
    if is_loopback(host) or http.token or http.public:
        return None
    return f"listening on {http.listen} (not loopback) without a token"


def exposure_hint() -> str:
    return _HINT_TOKEN


def resolve_http(doc: Document, issues: list[Issue]) -> HttpConfig | None:
    """The ``http`` section of ``doc`` checked, or None when it is absent or broken."""
    raw = doc.data.get("http")
    if not isinstance(raw, Mapping):
        return None  # Absent; a value of the wrong type is the schema's error.
    where = ("http",)
    listen: Any = raw.get("listen", DEFAULT_LISTEN)
    if not isinstance(listen, str):
        return None
    try:
        parse_listen(listen)
    except ValueError as exc:
        issues.append(
            doc.issue(
                (*where, "listen"),
                f"invalid listen address: {exc}",
                'e.g. "127.0.0.1:9187", "[::1]:9187", "0.0.0.0:9187" or ":0" (a free port)',
            )
        )
        return None
    token_node = doc._node((*where, "token"))
    if token_node is not None and "${" not in str(token_node.value):
        issues.append(
            doc.issue(
                (*where, "token"),
                "the token is written in the file",
                'give it from the environment: token: "${JOBRUNNER_HTTP_TOKEN}"',
                severity="warning",
            )
        )
    line, column = doc.where(where, key=True)
    http = HttpConfig(
        listen=listen,
        token=raw.get("token") or None,
        public=bool(raw.get("public", False)),
        location=Location(doc.file, line, column),
        dashboard=_DASHBOARD.get(raw.get("dashboard", True), "on"),
    )
    problem = exposure_problem(http)
    if problem is not None:
        at = (*where, "listen") if "listen" in raw else where
        issues.append(doc.issue(at, problem, _HINT_TOKEN))
        return None
    return http
