"""A custom storage backend for ``examples/custom-storage.yaml``.

Any subclass of ``huey.storage.BaseStorage`` works with ``backend: custom``; this
one is huey's own SQLite storage with a log line per enqueued message and a
default database file beside this module.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from huey.storage import SqliteStorage

log = logging.getLogger("examples.storage")

DEFAULT_FILENAME = str(Path(__file__).resolve().parent / "custom-storage.db")


class AuditedSqliteStorage(SqliteStorage):  # type: ignore[misc]
    """huey's SqliteStorage that logs the size of every message it enqueues."""

    def __init__(self, name: str = "huey", filename: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, filename=filename or DEFAULT_FILENAME, **kwargs)

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        log.info("enqueue %d bytes on queue %s", len(data), self.name)
        super().enqueue(data, priority)
