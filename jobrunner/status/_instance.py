"""One instance's status: counts, in-flight leases, dead letters, consumers, last event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import huey

from jobrunner.config.model import InstanceConfig
from jobrunner.events import CONSUMER_TTL, Event, History, HistoryQuery
from jobrunner.status._model import InFlight, InstanceStatus, LiveConsumer
from jobrunner.status._open import guarded


def instance_status(
    inst: InstanceConfig, app_huey: huey.Huey, history: History | None, moment: datetime
) -> InstanceStatus:
    """Queue depth, scheduled tasks, in-flight leases, dead letters, live consumers and the
    newest event of one instance (``history`` None: it keeps none); creates nothing.

    Raises :class:`~jobrunner.errors.StorageError` when the storage cannot be reached.
    """
    from jobrunner.delivery import store_for
    from jobrunner.factory import safe_target

    storage = app_huey.storage
    depth = guarded(inst, storage.queue_size)
    scheduled = guarded(inst, storage.schedule_size)
    store = store_for(storage) if inst.delivery == "at_least_once" else None
    in_flight: tuple[InFlight, ...] = ()
    dead: int | None = None
    if store is not None and guarded(inst, lambda: delivery_tables_exist(storage)):
        counts = guarded(inst, store.in_flight)
        leases = guarded(inst, lambda: _leases(store))
        in_flight = tuple(
            InFlight(c, n, _utc(leases[c]) if c in leases else None)
            for c, n in sorted(counts.items())
            if n
        )
        dead = len(guarded(inst, store.dead_letters))
    elif store is not None:
        dead = 0
    consumers: tuple[LiveConsumer, ...] = ()
    last: Event | None = None
    if history is not None:
        now = moment.timestamp()
        consumers = tuple(
            LiveConsumer(
                r.id,
                r.host,
                r.pid,
                r.workers,
                r.worker_type,
                _utc(r.started),
                _utc(r.heartbeat),
                now - r.heartbeat <= CONSUMER_TTL,
            )
            for r in guarded(inst, history.consumers)
        )
        found = guarded(inst, lambda: history.query(HistoryQuery(limit=1)))
        last = found[0] if found else None
    return InstanceStatus(
        name=inst.name,
        backend=inst.backend,
        target=safe_target(inst),
        queue_depth=int(depth),
        scheduled=int(scheduled),
        in_flight=in_flight,
        consumers=consumers,
        dead_letters=dead,
        last_event=last,
        history=history is not None,
    )


def delivery_tables_exist(storage: Any) -> bool:
    """Whether a consumer ever created the in-flight and dead-letter tables here (SQL;
    always true on Redis): a reader that must create nothing asks this first."""
    if isinstance(storage, huey.storage.SqliteStorage):
        rows = storage.sql(
            "select 1 from sqlite_master where type = 'table' and name = 'lease'", results=True
        )
        return bool(rows)
    if isinstance(storage, huey.storage.PostgresStorage):
        prefix = storage.table_task.removesuffix("_task")
        rows = storage.sql("select to_regclass(%s)", (f"{prefix}_lease",), results=True)
        return rows[0][0] is not None
    return True


def _leases(store: Any) -> dict[str, float]:
    """Lease expiry (epoch seconds) of every consumer of ``store``'s queue."""
    storage = store.storage
    if isinstance(storage, huey.storage.RedisStorage):
        pairs = store.conn.zrange(store.leases, 0, -1, withscores=True)
        return {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in pairs}
    if isinstance(storage, huey.storage.PostgresStorage):
        sql = f"select consumer, extract(epoch from expires_at) from {store.lease} where queue = %s"
    else:
        sql = "select consumer, expires_at from lease where queue = ?"
    rows = storage.sql(sql, (storage.name,), results=True)
    return {str(c): float(e) for c, e in rows}


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
