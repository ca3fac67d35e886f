"""Who may see the dashboard: everyone on a loopback bind without a token; else the token.

With ``http.token`` set, a request needs ``Authorization: Bearer TOKEN`` or the
session cookie the login form sets (an HMAC of the token under the server's key,
so the token itself is never stored in the browser).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.requests import Request

SESSION = "jobrunner_session"


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def session_value(key: bytes, token: str) -> str:
    return hmac.new(key, b"session:" + token.encode(), hashlib.sha256).hexdigest()


def allowed(request: Request, token: str | None, key: bytes) -> bool:
    """Whether ``request`` may see pages and act (always, when there is no token)."""
    if not token:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac_equal(given.strip(), token):
        return True
    cookie = request.cookies.get(SESSION, "")
    return bool(cookie) and hmac.compare_digest(cookie, session_value(key, token))


def who(request: Request, token: str | None) -> str:
    """Who did an action, as recorded in its event: the client address and how it logged in."""
    client = request.client.host if request.client else "?"
    if not token:
        return f"dashboard {client}"
    via = "bearer token" if "authorization" in request.headers else "login"
    return f"dashboard {client} ({via})"


def hmac_equal(given: str, token: str) -> bool:
    """Whether ``given`` is ``token``, compared in constant time."""
    return hmac.compare_digest(given.encode(), token.encode())
