"""Who may read the endpoint: a bearer token, with the probes left open.

:class:`TokenAuth` is ASGI middleware. With no token configured every request passes (the
config layer allows that only on loopback or with ``public: true``). With a token, a request
passes when its ``Authorization: Bearer TOKEN`` header matches (compared in constant time), or
when one of the ``credential_checks`` accepts it (the dashboard adds its login cookie there), or
when its path is in ``open_paths``. Anything else gets 401 with ``WWW-Authenticate: Bearer``.

The probes (``/healthz``, ``/readyz``) are open by default: orchestrators probe without
credentials (a Kubernetes probe cannot read a Secret), and their bodies hold only check names
and states.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

OPEN_PATHS: frozenset[str] = frozenset({"/healthz", "/readyz"})

CredentialCheck = Callable[[Request], bool]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is ``token`` (constant time, so timing tells nothing)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class TokenAuth:
    """ASGI middleware: 401 for requests without the token (see the module docstring)."""

    def __init__(
        self,
        app: Any,
        token: str | None,
        *,
        open_paths: Collection[str] = OPEN_PATHS,
        credential_checks: Sequence[CredentialCheck] = (),
    ) -> None:
        self.app = app
        self.token = token
        self.open_paths = frozenset(open_paths)
        self.credential_checks = tuple(credential_checks)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.allowed(Request(scope)):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"error": "unauthorized", "hint": "send the header Authorization: Bearer <token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)

    def allowed(self, request: Request) -> bool:
        if self.token is None or request.url.path in self.open_paths:
            return True
        if token_matches(bearer_token(request), self.token):
            return True
        return any(check(request) for check in self.credential_checks)
