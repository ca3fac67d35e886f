"""jobrunner: a declarative job runner on the huey task queue.

One ``jobs.yaml`` describes huey instances, tasks and schedules::

    import jobrunner
    app = jobrunner.load("jobs.yaml")
    result = app.tasks.send_report("eu")
    result.get(blocking=True, timeout=5)
"""

from __future__ import annotations

from jobrunner.app import App, Handles, load
from jobrunner.config import Config, load_config
from jobrunner.errors import ConfigError, Issue, JobRunnerError, RunnerError, UnknownNameError

__version__ = "0.1.0"

__all__ = [
    "App",
    "Config",
    "ConfigError",
    "Handles",
    "Issue",
    "JobRunnerError",
    "RunnerError",
    "UnknownNameError",
    "__version__",
    "load",
    "load_config",
]
