"""Notice when a config file changes, however it was saved, and report each burst once.

The observer watches the file's *folder*, not the file: editors that save by
writing a temporary file and renaming it over the original, and programs that
delete and recreate the file, replace the inode a file watch would follow.
Kubernetes ConfigMaps go one step further: ``jobs.yaml`` is a symlink to
``..data/jobs.yaml`` and an update flips the ``..data`` symlink, so nothing named
``jobs.yaml`` changes at all. The watcher therefore also listens for every
symlink met on the way from the path to the real file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger("jobrunner")

_SAVE_EVENTS = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    # A Kubernetes ConfigMap update renames a symlink to a folder (`..data`).
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]

# An editor's save is several events within a few milliseconds; a reload waits for
# this much quiet, but never longer than MAX_DELAY after the first event.
QUIET = 0.1
MAX_DELAY = 0.5

_LINK_LIMIT = 40  # as the kernel's ELOOP limit: a symlink loop must not hang the watcher


def symlinks_to(path: str) -> list[str]:
    """Every symlink met while resolving ``path`` from its last component on.

    For a ConfigMap mount ``/cfg/jobs.yaml`` that is ``["/cfg/jobs.yaml",
    "/cfg/..data"]``. Symlinks among the parent folders of ``path`` itself are
    left out: they are not how a config update is published.
    """
    found: list[str] = []
    current = os.path.abspath(path)
    for _ in range(_LINK_LIMIT):
        if not os.path.islink(current):
            break
        found.append(current)
        try:
            target = os.readlink(current)
        except OSError:
            break
        folder = os.path.dirname(current)
        parts = Path(target).parts
        for part in parts[:-1]:
            folder = os.path.join(folder, part)  # an absolute part restarts the path
            if os.path.islink(folder):
                found.append(folder)
                folder = os.path.realpath(folder)
        current = os.path.normpath(os.path.join(folder, parts[-1])) if parts else folder
    return found


class ConfigWatcher:
    """Calls ``on_change`` once per burst of changes to the file at ``path``.

    ``poll`` (seconds) uses watchdog's polling observer, for file systems without
    change notifications (NFS, SMB, some container mounts); otherwise the
    platform's native observer (inotify on Linux). ``on_change`` runs on the
    watcher's own thread: it should only hand the work over.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        on_change: Callable[[], None],
        *,
        poll: float | None = None,
        quiet: float = QUIET,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.poll = poll
        self._on_change = on_change
        if poll:
            # Polling sees a burst as changes one interval apart: wait out one more poll.
            quiet = max(quiet, poll * 1.5)
            max_delay = max(max_delay, quiet * 3)
        self._quiet = quiet
        self._max_delay = max_delay
        self._relevant = self._names()
        self._observer: Any = None
        self._cond = threading.Condition()
        self._first: float | None = None  # monotonic time of the burst's first event
        self._last = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._debounce, name="config-watch", daemon=True)

    @property
    def method(self) -> str:
        """How changes are noticed, for the log: ``native`` or ``polling every Ns``."""
        return f"polling every {self.poll:g}s" if self.poll else "native file events"

    def start(self) -> None:
        """Start watching (in background threads)."""
        observer = PollingObserver(timeout=self.poll) if self.poll else Observer()
        # Native events: only those a save can produce. Modifications are left out in the
        # kernel (the inotify mask), so writes to a SQLite file beside jobs.yaml do not
        # wake this process on every task; an in-place save still ends with a close.
        # Polling compares snapshots and reports a save as a modification.
        events = None if self.poll else _SAVE_EVENTS
        handler = _Handler(self)
        for folder in sorted({os.path.dirname(p) for p in self._relevant}):
            if os.path.isdir(folder):
                observer.schedule(handler, folder, recursive=False, event_filter=events)
        observer.daemon = True
        observer.start()
        self._observer = observer
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; a burst still being debounced is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._observer is not None:
            _quiet_inotify_stop()
            self._observer.stop()
            self._observer.join(5)
        if self._thread.is_alive():
            self._thread.join(5)

    def _names(self) -> set[str]:
        return {self.path, *symlinks_to(self.path)}

    def notice(self, event: FileSystemEvent) -> None:
        """Take one file system event; start or extend a burst when it concerns the file."""
        paths = {os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")}
        if not paths & self._relevant:
            return
        with self._cond:
            # Stamped under the lock: an event the debouncer has not seen yet is never
            # older than its decision that the quiet spell is over.
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._cond.notify_all()

    def _debounce(self) -> None:
        while True:
            with self._cond:
                while self._first is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                first = self._first or 0.0
                due = min(self._last + self._quiet, first + self._max_delay)
                remaining = due - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._first = None
            # A swap may have pointed the symlinks somewhere new (the next ConfigMap flip
            # renames a differently named ``..2024_...`` folder behind ``..data``).
            self._relevant = self._names()
            try:
                self._on_change()
            except Exception:  # the watcher must outlive a failing callback
                log.exception("config watcher: change handler failed")


class _InactiveEmitterFilter(logging.Filter):
    """Drops the error watchdog's inotify emitter logs when it is stopped mid-read (harmless)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in str(record.msg)


_INACTIVE_FILTER = _InactiveEmitterFilter()


def _quiet_inotify_stop() -> None:
    logger = logging.getLogger("watchdog.observers.inotify")
    if _INACTIVE_FILTER not in logger.filters:
        logger.addFilter(_INACTIVE_FILTER)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: ConfigWatcher) -> None:
        super().__init__()
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading the file (our own reload does) is not a change
        self._watcher.notice(event)
