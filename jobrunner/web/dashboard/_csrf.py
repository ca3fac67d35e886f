"""CSRF protection of the action forms: a signed double-submit token.

Each browser gets a random nonce in a ``SameSite=Strict`` cookie; every form carries
the HMAC of that nonce under the server's key. A ``POST`` is accepted only when the
form's token matches the cookie's nonce: another site can make a browser send the
cookie, but cannot read it to compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "jobrunner_csrf"
FIELD = "csrf"


def _sign(key: bytes, nonce: str) -> str:
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def nonce_of(request: Request) -> str:
    """The browser's nonce, or a new one (kept on ``request.state`` until the response)."""
    nonce = request.cookies.get(COOKIE) or getattr(request.state, "csrf_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        request.state.csrf_nonce = nonce
    return str(nonce)


def token_for(request: Request, key: bytes) -> str:
    """The token to put in this page's forms."""
    return _sign(key, nonce_of(request))


def set_cookie(request: Request, response: Response) -> None:
    """Send the nonce when this request made a new one."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce and COOKIE not in request.cookies:
        response.set_cookie(
            COOKIE, nonce, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )


def valid(request: Request, key: bytes, token: object) -> bool:
    """Whether ``token`` (from the posted form) matches the browser's cookie."""
    nonce = request.cookies.get(COOKIE)
    if not nonce or not isinstance(token, str):
        return False
    return hmac.compare_digest(_sign(key, nonce), token)
