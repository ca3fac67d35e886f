"""Live updates: one server-sent event stream per open page, one watcher per server.

The watcher looks at a cheap fingerprint of the storages (queue sizes, in-flight
counts, dead letters, the newest run) every ``poll_interval`` seconds, only while a
page is open, and at once when the event hub reports something. Pages are told
*that* something changed; each then asks for its own ``<main>`` again. So 20 open
pages cost one watcher, not 20.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from jobrunner.web.dashboard import _data
from jobrunner.web.dashboard._context import Dashboard

#: Seconds between keep-alive comments on a quiet stream (proxies close idle ones).
KEEPALIVE = 15.0
#: Pages are told of changes at most this often: during a drain the storages change on
#: every look, and each telling makes every open page fetch itself again.
NOTIFY_GAP = 1.0
#: The share of the runner's time the dashboard may take while pages are open: after a
#: change was told, the next one waits until the time spent looking and rendering since
#: is at most this share of the time passed. Quiet, pages hear of a change within a
#: second; during a drain they refresh less often, and the workers keep their pace.
BUDGET = 0.02
#: A page rendered for one change is served to every page asking within this long.
SHARED_FOR = 2.0


class Live:
    """The change watcher and the pages listening to it."""

    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self.version = 0
        self._changed: asyncio.Event | None = None
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None
        self._poke: asyncio.Event | None = None
        self._unsubscribe: Any = None
        self._told = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        dash.closers.append(self.close)
        self.spent = 0.0  # seconds spent rendering pages and looking, since the last telling
        self._pages: dict[Any, tuple[int, float, Response]] = {}

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
        if self._task is not None and not self._task.done():
            return
        loop = self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._poke = asyncio.Event()
        if self.dash.subscribe is not None and self._unsubscribe is None:
            poke = self._poke

            def wake() -> None:
                loop.call_soon_threadsafe(poke.set)

            self._unsubscribe = self.dash.subscribe(wake)
        self._task = loop.create_task(self._watch())

    async def _watch(self) -> None:
        last: object = None
        while True:
            looked = time.monotonic()
            current = await run_in_threadpool(fingerprint, self.dash)
            self.spent += time.monotonic() - looked
            if last is not None and current != last:
                gap = max(NOTIFY_GAP, self.spent / BUDGET)
                await asyncio.sleep(max(0.0, self._told + gap - time.monotonic()))
                self._told = time.monotonic()
                self.spent = 0.0
                self.changed()
            last = current
            if self._listeners == 0:
                return  # the next page opened starts a new watcher
            assert self._poke is not None
            # The hub's events (every 0.25 s while tasks run) wake the watcher early, but
            # it looks at the storages no more often than every poll_interval / 2.
            pause = max(self.dash.poll_interval / 2, (time.monotonic() - looked) / BUDGET)
            await asyncio.sleep(max(0.0, looked + pause - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.dash.poll_interval / 2)
            self._poke.clear()


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
