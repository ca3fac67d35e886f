"""Running consumers: the supervisor behind ``jobrunner run``."""

from __future__ import annotations

from jobrunner.runtime._runner import Runner, RunOptions

__all__ = ["RunOptions", "Runner"]
