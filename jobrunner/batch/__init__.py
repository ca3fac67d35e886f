"""Many keys or tasks per round trip: bulk ``.map()`` and the scheduler's batched claims."""

from __future__ import annotations

from jobrunner.batch._enqueue import BATCH_SIZE, enqueue_many
from jobrunner.batch._kv import (
    delete_many,
    peek_many,
    put_greater_many,
    put_if_empty_many,
    put_many,
)
from jobrunner.batch._wrapper import BatchTaskWrapper

__all__ = [
    "BATCH_SIZE",
    "BatchTaskWrapper",
    "delete_many",
    "enqueue_many",
    "peek_many",
    "put_greater_many",
    "put_if_empty_many",
    "put_many",
]
