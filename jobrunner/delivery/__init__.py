"""At-least-once delivery on top of huey: in-flight records, leases, recovery, dead letters.

huey removes a message from storage when a worker takes it; a consumer that dies
loses what it was running, and a message that cannot be read or whose task is
unknown is dropped with a log line. This package keeps every taken message
recorded as in flight until its task is done (see docs/delivery.md):

- :class:`Delivery`: one consumer's identity, lease, heartbeat and recovery;
- :class:`DeliveryWorker`: huey's ``Worker`` taking, running and acknowledging;
- :func:`store_for`: the Redis, PostgreSQL or SQLite store beside huey's storage;
- :func:`delivery_for`: the :class:`Delivery` an instance's consumer should use, if any.
"""

from __future__ import annotations

import huey

from jobrunner.config.model import InstanceConfig
from jobrunner.delivery._deadletters import open_message, short_task_name
from jobrunner.delivery._delivery import Delivery, secrets_of
from jobrunner.delivery._store import DeadLetter, Recovered, Store, Taken
from jobrunner.delivery._stores import store_for
from jobrunner.delivery._worker import DeliveryWorker

__all__ = [
    "DeadLetter",
    "Delivery",
    "DeliveryWorker",
    "Recovered",
    "Store",
    "Taken",
    "delivery_for",
    "open_message",
    "secrets_of",
    "short_task_name",
    "store_for",
]


def delivery_for(app_huey: huey.Huey, instance: InstanceConfig) -> Delivery | None:
    """The at-least-once delivery of ``instance``'s consumer, or None for huey's own.

    None for ``delivery: at_most_once`` and for backends without a store (file,
    memory, custom); loading the config warns about the file and custom backends
    (``config/_resolve.py``), memory loses everything with the process anyway.
    """
    if instance.delivery != "at_least_once":
        return None
    # A custom storage class may subclass a built-in one yet change how it queues;
    # the built-in stores' raw SQL or Redis commands would bypass its own methods.
    store = None if instance.backend == "custom" else store_for(app_huey.storage)
    if store is None:
        return None
    return Delivery(app_huey, instance, store)
