"""Build huey objects from a config: one Huey per instance, tasks and schedules registered on it."""

from __future__ import annotations

from jobrunner.factory._backends import make_huey, safe_target
from jobrunner.factory._guards import release_held_locks
from jobrunner.factory._registry import (
    SCHEDULE_PREFIX,
    TASK_PREFIX,
    LazyFunction,
    register_schedule,
    register_task,
)

__all__ = [
    "SCHEDULE_PREFIX",
    "TASK_PREFIX",
    "LazyFunction",
    "make_huey",
    "register_schedule",
    "register_task",
    "release_held_locks",
    "safe_target",
]
