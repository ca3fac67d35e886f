"""Greenlet workers: gevent, and its monkey-patching before anything else.

huey's greenlet workers are gevent greenlets. They only take turns where the
standard library's blocking calls (sockets, sleeps, locks) are gevent's, which is
what ``gevent.monkey.patch_all()`` makes them; huey leaves that call to the
module that defines the huey object. jobrunner defines it, so it patches, and
early: a class that subclasses ``threading.Thread`` before the patch (watchdog's
observers, imported with jobrunner) stays a real thread, and a real thread that
waits on gevent's primitives hangs the process (its stop never returned). When
the config asks for greenlets, ``jobrunner run`` therefore starts itself again
with ``JOBRUNNER_GEVENT_PATCH=1``, which ``jobrunner/__init__.py`` reads before
importing anything else. A reload cannot switch a running process to greenlets:
it was not patched at its start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from jobrunner.errors import RunnerError

GREENLET = "greenlet"
_INSTALL = "install gevent (pip install gevent) or choose thread or process workers"


def patched() -> bool:
    """Whether gevent has patched this process (greenlet workers can run)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket"))


def prepare_greenlets(instances: Iterable[str]) -> None:
    """Make sure the process is patched for the greenlet workers of ``instances``.

    Returns when it is (or none is asked for); otherwise starts ``jobrunner`` again,
    same arguments and process id, patched from its first import.
    """
    names = sorted(instances)
    if not names or patched():
        return
    try:
        import gevent  # noqa: F401
    except ImportError:
        raise RunnerError(
            f"greenlet workers ({', '.join(names)}) need gevent, which is not installed; "
            + _INSTALL
        ) from None
    sys.stdout.flush()
    sys.stderr.flush()
    # jobrunner/__init__.py patches (or fails to import gevent, loudly) when it sees
    # this, so the new process cannot come back here unpatched: no restart loop.
    env = {**os.environ, "JOBRUNNER_GEVENT_PATCH": "1"}
    os.execve(sys.executable, [sys.executable, "-m", "jobrunner", *sys.argv[1:]], env)


def refuse_new_greenlets(instances: Iterable[str]) -> str | None:
    """Why a reload cannot start greenlet workers for ``instances`` now, or None."""
    names = sorted(instances)
    if not names or patched():
        return None
    return (
        f"greenlet workers ({', '.join(names)}) need a restart: the running process "
        "started without them, and gevent patches a process only before its threads start"
    )
