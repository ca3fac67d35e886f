"""The status snapshot of a config's instances and schedules (``jobrunner status``).

``snapshot(config, instance=None) -> Status``: frozen dataclasses (:class:`Status`,
:class:`InstanceStatus`, :class:`InFlight`, :class:`LiveConsumer`,
:class:`ScheduleStatus`); ``status.as_dict()`` is the JSON form. It reads the
storages only, creates nothing, and raises :class:`~jobrunner.errors.StorageError`
when a storage cannot be reached (:class:`~jobrunner.errors.StorageMissingError` when
it was never created). :func:`open_readonly`, :func:`guarded` and :func:`has_table` are
the same rules for other read-only tools.
"""

from __future__ import annotations

from jobrunner.status._open import guarded, has_table, open_readonly
from jobrunner.status._snapshot import (
    InFlight,
    InstanceStatus,
    LiveConsumer,
    ScheduleStatus,
    Status,
    snapshot,
)

__all__ = [
    "InFlight",
    "InstanceStatus",
    "LiveConsumer",
    "ScheduleStatus",
    "Status",
    "guarded",
    "has_table",
    "open_readonly",
    "snapshot",
]
