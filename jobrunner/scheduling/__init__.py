"""Pure schedule computation: cron parsing, the per-minute firing rule, descriptions, jitter.

Nothing here touches storage or the clock; callers pass the time in.
"""

from __future__ import annotations

from ._cron import Cron, CronError
from ._describe import describe
from ._jitter import jitter_offset
from ._ticks import fire_times, is_due

__all__ = ["Cron", "CronError", "describe", "fire_times", "is_due", "jitter_offset"]
