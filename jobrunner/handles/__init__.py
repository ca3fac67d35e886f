"""Generated, typed task handles (``jobrunner generate``) and what they run on.

A generated module imports :class:`Binding` and :class:`Result` from here; the
generator is ``jobrunner.handles._generate`` (run by ``jobrunner generate``).
"""

from __future__ import annotations

from jobrunner.handles._runtime import Binding, Result, ScheduleHandle, TaskHandle

__all__ = ["Binding", "Result", "ScheduleHandle", "TaskHandle"]
