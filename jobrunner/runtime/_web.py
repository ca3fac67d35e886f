"""Which HTTP endpoint a runner starts: the file's ``http:`` with ``--http`` applied.

The web package (Starlette, uvicorn, prometheus-client) is imported only when an endpoint is
asked for, so a runner without one pays nothing for it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from jobrunner.config._http import exposure_hint, exposure_problem, parse_listen
from jobrunner.config.model import HttpConfig
from jobrunner.errors import RunnerError

if TYPE_CHECKING:
    from jobrunner.runtime._runner import Runner
    from jobrunner.web import Endpoint


def make_endpoint(runner: Runner, http: HttpConfig | None, listen: str | None) -> Endpoint | None:
    """The endpoint for ``http`` (the file's section) and ``listen`` (``--http``), if any."""
    if listen is not None:
        try:
            parse_listen(listen)
        except ValueError as exc:
            raise RunnerError(f"--http: {exc}") from None
        http = replace(http or HttpConfig(), listen=listen)
        problem = exposure_problem(http)
        if problem is not None:
            raise RunnerError(f"--http: {problem}; {exposure_hint()}")
    if http is None:
        return None
    from jobrunner.web import Endpoint  # only when asked for (see above)

    return Endpoint(runner, http)
