"""What the dashboard reads and steers: one :class:`Dashboard` per server.

``jobrunner run`` builds one over its live runner (the configuration follows hot
reloads); ``jobrunner dashboard`` builds one over an :class:`~jobrunner.App` loaded
from the file, with no consumer, and so shows every runner sharing its storages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import huey

from jobrunner.app import App
from jobrunner.config import Config
from jobrunner.errors import Issue
from jobrunner.events import Event


@dataclass(frozen=True)
class Rejected:
    """The last reload that was refused: when, and its errors."""

    at: float
    issues: tuple[Issue, ...]

    @classmethod
    def of(cls, event: Event) -> Rejected:
        """The rejection a ``reload-rejected`` event tells of."""
        found = (event.data or {}).get("errors")
        if isinstance(found, list) and found:
            issues = tuple(Issue(**item) for item in found if isinstance(item, dict))
        else:
            issues = (Issue(str(event.error or "reload rejected"), 0, 0, "", ""),)
        return cls(event.ts, issues)


class Status(Protocol):
    """The running configuration's generation, load time and last rejected reload."""

    @property
    def generation(self) -> int: ...

    @property
    def loaded_at(self) -> float: ...

    @property
    def rejected(self) -> Rejected | None: ...


@dataclass
class FileStatus:
    """The status of a configuration loaded once (``jobrunner dashboard``)."""

    generation: int = 1
    loaded_at: float = field(default_factory=time.time)
    rejected: Rejected | None = None


#: ``subscribe(callback) -> unsubscribe``: ``callback()`` runs when something changed.
Subscribe = Callable[[Callable[[], None]], Callable[[], None]]


@dataclass
class Dashboard:
    """The state one dashboard server works on.

    ``app`` returns the current :class:`App` (a reload replaces its config and huey
    objects). ``read_only`` turns every action off; ``token`` (the ``http.token``)
    guards every page when set; ``subscribe`` (the process's event hub inside
    ``jobrunner run``) wakes the live updates at once instead of at the next poll.
    """

    app: Callable[[], App]
    mode: str = "fleet"
    read_only: bool = False
    token: str | None = None
    status: Status = field(default_factory=FileStatus)
    subscribe: Subscribe | None = None
    #: Signs the CSRF and login cookies; new per server start, so they end with it.
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: Seconds between two looks at the storages for changes while pages are open.
    poll_interval: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)
    #: Called (from any thread) by :meth:`close`: the live updates end their streams.
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """The server stops: end the open event streams (a graceful stop waits for them)."""
        for closer in self.closers:
            closer()

    @property
    def config(self) -> Config:
        return self.app().config

    def hueys(self) -> Mapping[str, huey.Huey]:
        return self.app().instances


def problems(issues: Sequence[Issue]) -> list[str]:
    """Each issue in its ``file:line:col: path: message`` form."""
    return [issue.format() for issue in issues]
