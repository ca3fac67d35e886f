"""One schedule's status: paused or not, last fire, last outcome, next fire."""

from __future__ import annotations

from datetime import datetime

import huey

from jobrunner.config.model import InstanceConfig, ScheduleConfig
from jobrunner.events import CAUGHT_UP, FIRED, OUTCOMES, SKIPPED, History, HistoryQuery
from jobrunner.status._model import ScheduleStatus
from jobrunner.status._open import guarded

_FIRES = frozenset({FIRED, CAUGHT_UP, SKIPPED})


def schedule_status(
    inst: InstanceConfig,
    schedule: ScheduleConfig,
    app_huey: huey.Huey,
    history: History | None,
    moment: datetime,
) -> ScheduleStatus:
    """Whether ``schedule`` is paused (and by whom), its last fire and last outcome (from
    ``history``, None: none kept) and its next fire after ``moment``; creates nothing."""
    from jobrunner.scheduling._plan import next_run
    from jobrunner.scheduling._state import ScheduleState

    pause = guarded(inst, lambda: ScheduleState(app_huey.storage).paused(schedule.name))
    last_fire = last_outcome = None
    if history is not None:
        fires = guarded(
            inst,
            lambda: history.query(HistoryQuery(schedule=schedule.name, statuses=_FIRES, limit=1)),
        )
        last_fire = fires[0] if fires else None
        ends = guarded(
            inst,
            lambda: history.query(HistoryQuery(schedule=schedule.name, statuses=OUTCOMES, limit=1)),
        )
        last_outcome = ends[0] if ends else None
    planned = next_run(schedule, moment)
    return ScheduleStatus(
        name=schedule.name,
        instance=inst.name,
        enabled=schedule.enabled,
        paused=pause is not None,
        paused_by=pause.by if pause is not None else None,
        last_fire=last_fire,
        last_outcome=last_outcome,
        next_fire=planned.starts if planned is not None else None,
    )
