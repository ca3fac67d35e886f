"""A connection of its own for the scheduler thread, so the minute never waits for the workers.

huey's SQL storages share one connection between every thread of a process, behind one lock:
each worker's take, revoke check and ack holds it for a round trip. On the minute the
scheduler sends a few statements per 1,000 runs, and each waited behind up to four workers
already draining the first runs it had enqueued (10,000 schedules, 3 runners: a fifth of the
scheduler's time was spent on that lock). A thread that calls :meth:`use_own_connection`
(the scheduler, at its start) gets a connection of its own instead: one more connection per
runner, and its statements run in their own transactions exactly as before.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from jobrunner.factory._pg_stuck import stuck


class OwnConnectionThreads:
    """Mixin for huey's ``PostgresStorage``: ``db()`` on a thread's own connection once that
    thread asked for one; every other thread keeps huey's shared connection and lock."""

    begin_sql: str
    _create_connection: Any
    _close_quiet: Any

    def use_own_connection(self) -> None:
        """From now on, this thread's statements use a connection of its own."""
        self._own_local().wanted = True

    def _own_local(self) -> threading.local:
        local: threading.local | None = self.__dict__.get("_jobrunner_own")
        if local is None:
            local = self.__dict__.setdefault("_jobrunner_own", threading.local())
        return local

    @contextlib.contextmanager
    def db(self, commit: bool = False, close: bool = False) -> Iterator[Any]:
        local = self._own_local()
        if not getattr(local, "wanted", False):
            with super().db(commit=commit, close=close) as cursor:  # type: ignore[misc]
                yield cursor
            return
        conn = getattr(local, "conn", None)
        if conn is not None and (conn.closed or conn.broken or stuck(conn)):
            self._close_quiet(conn)
            conn = None
        if conn is None:
            conn = local.conn = self._create_connection()
        cursor = conn.cursor()
        try:
            if commit:
                cursor.execute(self.begin_sql)
            yield cursor
        except Exception:
            if commit:
                conn.rollback()
            raise
        else:
            if commit:
                conn.commit()
        finally:
            cursor.close()
            if close:
                self._close_quiet(conn)
                local.conn = None

    def close(self) -> Any:
        conn = getattr(self._own_local(), "conn", None)
        if conn is not None:
            self._close_quiet(conn)
            self._own_local().conn = None
        return super().close()  # type: ignore[misc]
