"""``setup:``: functions that prepare a framework before any task module is imported.

``django.setup()`` must run before a module that imports a model; each setup
function runs once per process, in file order, before the first import of a task
function (the consumer, ``jobrunner validate``) or when ``load(setup=True)`` asks.
A reload runs the ones added since; a removed one cannot be undone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from jobrunner.config._imports import explain_import_error, import_callable
from jobrunner.config.model import Callback
from jobrunner.errors import Issue

_done: set[str] = set()
_lock = threading.Lock()


def run_setup(callbacks: Iterable[Callback]) -> list[Issue]:
    """Run each setup function not yet run in this process; an issue for each that failed.

    A function that failed is tried again next time (a reload after a fix).
    """
    issues = []
    with _lock:
        for entry in callbacks:
            if entry.reference in _done:
                continue
            try:
                function = import_callable(entry.reference)
            except (Exception, SystemExit) as exc:
                message, hint = explain_import_error(entry.reference, exc)
                issues.append(_issue(entry, message, hint))
                continue
            try:
                function()
            except (Exception, SystemExit) as exc:
                issues.append(
                    _issue(
                        entry,
                        f"setup {entry.reference} raised {type(exc).__name__}: {exc}",
                        f"run `python -c 'import {entry.reference.partition(':')[0]}'` and call "
                        "the function to see the full traceback",
                    )
                )
                continue
            _done.add(entry.reference)
    return issues


def _issue(entry: Callback, message: str, hint: str) -> Issue:
    loc = entry.location
    return Issue(loc.file, loc.line, loc.column, entry.key, message, hint)
