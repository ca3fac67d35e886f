"""jobrunner: a declarative job runner on the huey task queue.

One ``jobs.yaml`` describes huey instances, tasks and schedules::

    import jobrunner
    app = jobrunner.load("jobs.yaml")
    result = app.tasks.send_report("eu")
    result.get(blocking=True, timeout=5)
"""

from __future__ import annotations

import os as _os

if _os.environ.pop("JOBRUNNER_GEVENT_PATCH", None) == "1":
    # `jobrunner run` with greenlet workers starts itself again with this set, so that
    # gevent patches the process before any module that uses threads is imported
    # (jobrunner/runtime/_greenlet.py). Popped: a task's subprocesses stay unpatched.
    from gevent import monkey as _monkey

    # Not `queue`: watchdog subclasses queue.Queue in a way gevent's does not support.
    _monkey.patch_all(queue=False)
    # But its C SimpleQueue, whose get() would block the whole process (watchdog 7.1's
    # inotify observer waits on one in a thread).
    import queue as _queue

    import gevent.queue as _gevent_queue

    _queue.SimpleQueue = _gevent_queue.SimpleQueue  # type: ignore[misc]

from jobrunner.app import App, Handles, load
from jobrunner.batch import enqueue_many
from jobrunner.config import Config, load_config
from jobrunner.errors import (
    BulkEnqueueError,
    ConfigError,
    Issue,
    JobRunnerError,
    RunnerError,
    StorageError,
    UnknownNameError,
)
from jobrunner.events import Event
from jobrunner.handles import Result, ScheduleHandle, TaskHandle

__version__ = "0.1.0"

__all__ = [
    "App",
    "BulkEnqueueError",
    "Config",
    "ConfigError",
    "Event",
    "Handles",
    "Issue",
    "JobRunnerError",
    "Result",
    "RunnerError",
    "ScheduleHandle",
    "StorageError",
    "TaskHandle",
    "UnknownNameError",
    "__version__",
    "enqueue_many",
    "load",
    "load_config",
]
