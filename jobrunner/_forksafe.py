"""Make huey storages and jobrunner's own state safe across a fork.

huey forks process workers (and, with them, its scheduler) while other threads
run: jobrunner's lease heartbeat, a consumer a reload is retiring. A child
inherits every lock as it was at the fork, and SQLite keeps per-process lock
bookkeeping in memory: a connection that was inside a transaction in another
thread at the fork leaves the child believing the file is locked by itself,
for good ("database is locked", a worker that never takes a task).

So before a fork, every SQL storage's lock is taken (huey holds it for a whole
transaction), which waits for transactions in flight to end; the child then gets
fresh locks and connections, and the parent goes on as before.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

# How long a fork waits for another thread's transaction before going ahead anyway.
_FORK_WAIT = 10.0

_storages: weakref.WeakSet[Any] = weakref.WeakSet()
_resets: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()
_held: list[Any] = []
# Connections inherited from the parent are dropped but never closed in the child:
# closing one could write to files (the WAL index) the parent is using.
_inherited: list[Any] = []


def track_sql_storage(storage: Any) -> None:
    """Guard a huey SQL storage (SQLite, PostgreSQL) across forks."""
    _storages.add(storage)


def after_fork(obj: Any, reset: Callable[[Any], None]) -> None:
    """Call ``reset(obj)`` in every child forked from now on (while ``obj`` lives)."""
    _resets[obj] = reset


def _before() -> None:
    for storage in list(_storages):
        lock = getattr(storage, "lock", None)
        if lock is not None and lock.acquire(timeout=_FORK_WAIT):
            _held.append(lock)


def _in_parent() -> None:
    while _held:
        _held.pop().release()


def _in_child() -> None:
    _held.clear()
    for storage in list(_storages):
        storage.lock = threading.Lock()
        conn = getattr(storage, "_conn", None)
        if conn is not None:
            _inherited.append(conn)
            storage._conn = None
        if hasattr(storage, "_listen_local"):
            # PostgreSQL keeps a LISTEN connection per thread; the forking thread's is copied.
            storage._listen_local = threading.local()
    for obj, reset in list(_resets.items()):
        reset(obj)


os.register_at_fork(before=_before, after_in_parent=_in_parent, after_in_child=_in_child)
