"""huey's start-up banner, summed up: how many tasks and schedules, not one line per task.

huey's consumer logs ``The following commands are available:`` followed by every registered
task name, in one INFO record: 20,000 lines for 10,000 tasks and 10,000 schedules. This filter
rewrites that record into one line with the counts, and logs the list at DEBUG.
"""

from __future__ import annotations

import logging

from jobrunner.factory import SCHEDULE_PREFIX, TASK_PREFIX

_HEADER = "The following commands are available:"


class BannerSummary(logging.Filter):
    """Installed on huey's ``huey.consumer`` logger by :func:`install`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(_HEADER)):
            return True
        names = [line[2:] for line in record.msg.splitlines()[1:] if line.startswith("+ ")]
        tasks = sum(1 for n in names if n.startswith(TASK_PREFIX + "."))
        schedules = sum(1 for n in names if n.startswith(SCHEDULE_PREFIX + "."))
        other = len(names) - tasks - schedules
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("registered: %s", ", ".join(names) or "nothing")
        record.msg = "%d task(s) and %d schedule(s) registered%s (the list at DEBUG)"
        record.args = (tasks, schedules, f", {other} other huey task(s)" if other else "")
        return True


_FILTER = BannerSummary()


def install() -> None:
    """Sum up huey's banner from now on (idempotent)."""
    logger = logging.getLogger("huey.consumer")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
