"""An instance's ``hooks:`` and ``signals:``, registered on its huey object by the consumer.

Each function is registered with huey's own decorator (``on_startup``,
``on_shutdown``, ``pre_execute``, ``post_execute``, ``signal``), wrapped so that
one that raises is logged with its place in the file and the consumer goes on.
Only ``jobrunner run`` registers them: a producer (``jobrunner.load``) imports
no application code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import huey
from huey.exceptions import CancelExecution

from jobrunner.config._imports import explain_import_error, import_callable
from jobrunner.config.model import Callback, InstanceConfig
from jobrunner.errors import ConfigError, Issue

log = logging.getLogger("jobrunner.hooks")


class _Logged:
    """A hook or handler that logs what it raises instead of passing it to huey.

    huey logs a failing hook too, but by its function name only; this says which
    line of which file declared it.
    """

    def __init__(self, function: Callable[..., Any], entry: Callback, what: str) -> None:
        self._function = function
        self._entry = entry
        self._what = what
        self.__name__ = entry.key

    def __call__(self, *args: Any) -> Any:
        try:
            return self._function(*args)
        except CancelExecution:
            raise  # a pre_execute hook's way to cancel the run
        except Exception as exc:
            log.error(
                "%s %s (%s) raised %s: %s",
                self._what,
                self._entry.reference,
                self._entry.location,
                type(exc).__name__,
                exc,
                exc_info=True,
            )
            return None


def install_hooks(app_huey: huey.Huey, instance: InstanceConfig) -> None:
    """Import and register ``instance``'s hooks and signal handlers on ``app_huey``.

    Raises :class:`ConfigError` pointing at each function that does not import.
    """
    issues: list[Issue] = []

    def load(entry: Callback, what: str) -> _Logged | None:
        try:
            return _Logged(import_callable(entry.reference), entry, what)
        except Exception as exc:
            message, hint = explain_import_error(entry.reference, exc)
            loc = entry.location
            issues.append(Issue(loc.file, loc.line, loc.column, entry.key, message, hint))
            return None

    registrars = {
        "on_startup": app_huey.on_startup,
        "on_shutdown": app_huey.on_shutdown,
        "pre_execute": app_huey.pre_execute,
        "post_execute": app_huey.post_execute,
    }
    for kind, register in registrars.items():
        for entry in getattr(instance.hooks, kind):
            hook = load(entry, f"{kind} hook")
            if hook is not None:
                register(entry.key)(hook)
    for spec in instance.signals:
        handler = load(spec.handler, "signal handler")
        if handler is not None:
            app_huey.signal(*spec.on)(handler)
    if issues:
        raise ConfigError(issues)
