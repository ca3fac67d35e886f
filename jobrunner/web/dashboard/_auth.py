"""Who may see the dashboard: everyone on a loopback bind without a token; else the token.

With ``http.token`` set, a request needs ``Authorization: Bearer TOKEN`` (checked as the
endpoint checks it, ``jobrunner.web``) or the session cookie the login form sets: an
HMAC of the token under the server's key, so the token itself is never stored in the
browser.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from jobrunner.web._auth import bearer_token, token_matches

SESSION = "jobrunner_session"


def session_value(key: bytes, token: str) -> str:
    return hmac.new(key, b"session:" + token.encode(), hashlib.sha256).hexdigest()


def allowed(request: Request, token: str | None, key: bytes) -> bool:
    """Whether ``request`` may see pages and act (always, when there is no token)."""
    if not token:
        return True
    if token_matches(bearer_token(request), token):
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
