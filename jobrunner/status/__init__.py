"""The status snapshot of a config's instances and schedules (``jobrunner status``).

``snapshot(config, instance=None) -> Status``: frozen dataclasses (:class:`Status`,
:class:`InstanceStatus`, :class:`InFlight`, :class:`LiveConsumer`,
:class:`ScheduleStatus`); ``status.as_dict()`` is the JSON form. It reads the
storages only, creates nothing, and raises :class:`~jobrunner.errors.StorageError`
when a storage cannot be reached (:class:`~jobrunner.errors.StorageMissingError` when
it was never created). :func:`instance_status` and :func:`schedule_status`
are its parts, for a reader that holds its huey objects already (the dashboard);
:func:`delivery_tables_exist` tells whether there are dead letters to read at all.
:func:`open_readonly`, :func:`guarded` and :func:`has_table` are the same rules for
other read-only tools.
"""

from __future__ import annotations

from jobrunner.status._instance import delivery_tables_exist, instance_status
from jobrunner.status._model import InFlight, InstanceStatus, LiveConsumer, ScheduleStatus
from jobrunner.status._open import guarded, has_table, open_readonly
from jobrunner.status._schedule import schedule_status
from jobrunner.status._snapshot import Status, snapshot

__all__ = [
    "InFlight",
    "InstanceStatus",
    "LiveConsumer",
    "ScheduleStatus",
    "Status",
    "delivery_tables_exist",
    "guarded",
    "has_table",
    "instance_status",
    "open_readonly",
    "schedule_status",
    "snapshot",
]
