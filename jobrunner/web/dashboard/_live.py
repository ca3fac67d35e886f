"""Live updates: one server-sent event stream per open page, one watcher per server.

Pages are told *that* something changed (a ``change`` event); each then asks for its own
``<main>`` again, which is rendered once per change for every page that asks. So 20 open
pages cost one watcher and one render per kind of page, not 20.

How the watcher knows. Inside ``jobrunner run`` the process's event hub reports each
batch of events (a run started or ended, a schedule fired, a reload): while batches come,
they are the change, and the storages are not read at all (on SQLite every read waits for
the one connection lock the workers need; on Redis it is round trips the workers' client
shares). Once the hub has been quiet for ``poll_interval``, and always without a hub
(``jobrunner dashboard``), the watcher compares a fingerprint of the storages (queue
sizes, in-flight counts, dead letters, consumers, the newest run) every ``poll_interval``:
that catches what other processes change. The watcher runs only while a page is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jobrunner.web.dashboard import _data
from jobrunner.web.dashboard._context import Dashboard

#: Seconds between keep-alive comments on a quiet stream (proxies close idle ones).
KEEPALIVE = 15.0
#: Pages are told of changes at most this often (a quiet runner's event reaches an open
#: page within it): each telling makes every open page fetch itself again.
NOTIFY_GAP = 1.0
#: The share of the runner's time the dashboard may take while pages are open: after a
#: telling, the next one waits until the time the renders (and looks) took since is at
#: most this share of the time passed. Quiet, that is NOTIFY_GAP; during a drain a
#: telling every few seconds, and the workers keep their pace.
BUDGET = 0.02
#: A page rendered for one change is served to every page asking within this long.
SHARED_FOR = 2.0
#: Stands for "not looked at yet, or not since the hub's events": the next look is a change.
_UNKNOWN = object()


class Live:
    """The change watcher and the pages listening to it."""

    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self.version = 0
        self.closed = False
        #: Seconds spent rendering pages and looking at the storages since the last telling.
        self.spent = 0.0
        #: Batches of events the hub reported (counted on the hub's thread).
        self.heard = 0
        self._poked = False
        self._changed: asyncio.Event | None = None
        self._poke: asyncio.Event | None = None
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._told = 0.0
        self._pages: dict[Any, tuple[int, float, Response]] = {}
        dash.closers.append(self.close)

    @property
    def watching(self) -> bool:
        return self._task is not None and not self._task.done()

    def cached(self, key: Any) -> Response | None:
        """The page rendered for ``key`` since the last change, if the watcher runs."""
        found = self._pages.get(key)
        if found is None or not self.watching:
            return None
        version, at, response = found
        fresh = version == self.version and time.monotonic() - at < SHARED_FOR
        return response if fresh else None

    def keep(self, key: Any, response: Response) -> None:
        if response.status_code == 200 and self.watching:
            if len(self._pages) > 200:
                self._pages.clear()
            self._pages[key] = (self.version, time.monotonic(), response)

    def close(self) -> None:
        """End every open stream (from any thread)."""
        self.closed = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.changed)

    def changed(self) -> None:
        """Something changed (an action here): tell every page now."""
        self.version += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def stream(self, request: Request) -> StreamingResponse:
        return StreamingResponse(
            self._events(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _events(self, request: Request) -> AsyncIterator[str]:
        self._start()
        self._listeners += 1
        try:
            yield "retry: 2000\nevent: hello\ndata: {}\n\n"
            seen = self.version
            while not self.closed and not await request.is_disconnected():
                assert self._changed is not None
                waiter = self._changed
                if self.version == seen:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter.wait(), KEEPALIVE)
                if self.closed:
                    return
                if self.version != seen:
                    seen = self.version
                    yield f"event: change\ndata: {seen}\n\n"
                else:
                    yield ": keep-alive\n\n"
        finally:
            self._listeners -= 1

    def _start(self) -> None:
        if self.watching:
            return
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._poke = asyncio.Event()
        self._poked = False
        if self.dash.subscribe is not None and self._unsubscribe is None:
            self._unsubscribe = self.dash.subscribe(self._heard)
        self._task = self._loop.create_task(self._watch())

    def _heard(self) -> None:
        """A batch of events (on the hub's thread): wake the watcher, once until it looks."""
        self.heard += 1
        if not self._poked and self._loop is not None and self._poke is not None:
            self._poked = True
            with contextlib.suppress(RuntimeError):  # the server's loop has ended
                self._loop.call_soon_threadsafe(self._poke.set)

    async def _watch(self) -> None:
        try:
            # The first look tells too: a page may have changed between its load and its
            # stream's opening, before the watcher had anything to compare with.
            heard, looked = self.heard, _UNKNOWN
            pause = self.dash.poll_interval
            while self._listeners and not self.closed:
                if self.heard == heard:
                    await self._nap(pause)
                if self.heard != heard:
                    heard, looked = self.heard, _UNKNOWN
                    await self._tell()
                    continue
                started = time.monotonic()
                current = await self._look()
                # A slow storage is looked at less often, within the same budget.
                pause = max(self.dash.poll_interval, (time.monotonic() - started) / BUDGET)
                if current != looked:
                    looked = current
                    await self._tell()
        finally:
            if self._unsubscribe is not None:  # no page open: the hub's batches cost nothing
                self._unsubscribe()
                self._unsubscribe = None

    async def _look(self) -> object:
        started = time.monotonic()
        try:
            return await run_in_threadpool(fingerprint, self.dash)
        finally:
            self.spent += time.monotonic() - started

    async def _nap(self, seconds: float) -> None:
        """Until the hub reports events, or ``seconds`` passed."""
        assert self._poke is not None
        self._poke.clear()
        self._poked = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poke.wait(), seconds)

    async def _tell(self) -> None:
        """Tell every page, once the budget allows (at once when nothing was told lately)."""
        # Asked again while the pages still fetch what the last telling made them render:
        # the budget is checked anew after each wait, with the renders finished meanwhile.
        while (wait := self._told + max(NOTIFY_GAP, self.spent / BUDGET) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        self._told = time.monotonic()
        self.spent = 0.0
        self.changed()


def fingerprint(dash: Dashboard) -> tuple[Any, ...]:
    """What, if it differs, means pages may show something new."""
    parts: list[Any] = [dash.status.generation]
    for view in _data.instances(dash):
        status = view.status
        if status is None:
            parts.append(view.error)
            continue
        last = status.last_event
        parts.append(
            (
                status.queue_depth,
                status.scheduled,
                status.in_flight,
                status.dead_letters,
                tuple((c.id, c.live) for c in status.consumers),
                None if last is None else (last.ts, last.status, last.id),
            )
        )
    return tuple(parts)
