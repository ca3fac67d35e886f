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

from jobrunner.app import App, Handles, load
from jobrunner.config import Config, load_config
from jobrunner.errors import (
    ConfigError,
    Issue,
    JobRunnerError,
    RunnerError,
    StorageError,
    UnknownNameError,
)
from jobrunner.events import Event

__version__ = "0.1.0"

__all__ = [
    "App",
    "Config",
    "ConfigError",
    "Event",
    "Handles",
    "Issue",
    "JobRunnerError",
    "RunnerError",
    "StorageError",
    "UnknownNameError",
    "__version__",
    "load",
    "load_config",
]
