"""Wiring events into a process: an instance's sinks, a consumer's emitter and heartbeat,
a producer's ``enqueued`` events."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import huey
from huey import signals as S

from jobrunner.config.model import EventsConfig, InstanceConfig
from jobrunner.events import _model as M
from jobrunner.events._emitter import Emitter
from jobrunner.events._history import (
    BEAT_INTERVAL,
    PRUNE_INTERVAL,
    ConsumerRecord,
    History,
    history_for,
)
from jobrunner.events._hub import Sink, hub
from jobrunner.events._model import Event
from jobrunner.events._redact import add_secrets
from jobrunner.events._sinks import LogSink, RedisSink, default_channel

log = logging.getLogger("jobrunner.events")


class HistorySink:
    """A :class:`History` as a hub sink: creates its tables on first use, prunes."""

    def __init__(self, history: History, config: EventsConfig) -> None:
        self.history = history
        self.config = config
        self.name = history.name
        self._ready = False

    def ready(self) -> History:
        if not self._ready:
            self.history.setup()
            self._ready = True
        return self.history

    def write(self, events: Sequence[Event]) -> None:
        self.ready().write(events)

    def prune(self) -> None:
        self.ready().prune(self.config.keep, self.config.max_age, time.time())

    def close(self) -> None:
        self.history.close()


@dataclass
class _Wired:
    config: EventsConfig
    storage: Any
    history: HistorySink | None
    cancel_prune: Any = None


_WIRED: dict[str, _Wired] = {}


def wire_instance(instance: InstanceConfig, app_huey: huey.Huey) -> HistorySink | None:
    """Give the hub the sinks of ``instance`` (again only if its settings changed)."""
    from jobrunner.delivery import secrets_of
    from jobrunner.factory import safe_target

    config = instance.events
    current = _WIRED.get(instance.name)
    if current is not None and current.config == config and current.storage is app_huey.storage:
        return current.history
    if current is not None and current.cancel_prune is not None:
        current.cancel_prune()
    add_secrets(secrets_of(instance))
    history = history_for(app_huey.storage, config.keep) if not instance.immediate else None
    keeper = HistorySink(history, config) if history is not None else None
    sinks: list[Sink] = []
    if config.redis:
        channel = config.channel or default_channel(instance.name)
        if config.redis_url is not None:
            from jobrunner.factory._backends import _hide_password

            sinks.append(
                RedisSink.from_url(config.redis_url, channel, _hide_password(config.redis_url))
            )
        else:
            sinks.append(RedisSink(app_huey.storage.conn, channel, safe_target(instance)))
    if config.log is not None:
        sinks.append(LogSink(config.log))
    if keeper is not None and config.history:
        sinks.append(keeper)
    hub().set_sinks(instance.name, sinks)
    wired = _Wired(config, app_huey.storage, keeper)
    if keeper is not None and config.history:
        wired.cancel_prune = hub().every(PRUNE_INTERVAL, keeper.prune)
    _WIRED[instance.name] = wired
    return keeper


class ConsumerEvents:
    """The events of one consumer: its emitter, heartbeat record, started/stopped events."""

    def __init__(
        self,
        app_huey: huey.Huey,
        instance: InstanceConfig,
        consumer_id: str,
        workers: int,
        worker_type: str,
    ) -> None:
        self.huey = app_huey
        self.instance = instance
        self.emitter = Emitter(app_huey, instance.name, consumer_id, instance.events.capture_args)
        self.record = ConsumerRecord(
            id=consumer_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            workers=workers,
            worker_type=worker_type,
            started=time.time(),
            heartbeat=time.time(),
        )
        self._keeper: HistorySink | None = None
        self._cancel_beat: Any = None

    def start(self) -> None:
        """Before the workers start (and fork): connect huey's signals, start the heartbeat."""
        self._keeper = wire_instance(self.instance, self.huey)
        hub().prepare_fork()
        self.emitter.connect()
        self.emitter.emit(
            M.CONSUMER_STARTED,
            data={"workers": self.record.workers, "worker_type": self.record.worker_type},
        )
        if self._keeper is not None:
            self._cancel_beat = hub().every(BEAT_INTERVAL, self._beat)

    def stop(self) -> None:
        """After the workers stopped: the stopped event, the record removed, all flushed."""
        if self._cancel_beat is not None:
            self._cancel_beat()
        self.emitter.emit(M.CONSUMER_STOPPED)
        self.emitter.disconnect()
        hub().flush()
        if self._keeper is not None:
            try:
                self._keeper.ready().forget(self.record.id)
            except Exception as exc:
                log.debug("could not remove consumer record %s: %s", self.record.id, exc)

    def _beat(self) -> None:
        if self._keeper is not None:
            record = ConsumerRecord(**{**self.record.__dict__, "heartbeat": time.time()})
            self._keeper.ready().beat(record)


def attach_producer(app_huey: huey.Huey, instance: InstanceConfig) -> None:
    """Emit ``enqueued`` for every task this process sends to ``instance`` (events.enqueued)."""
    wire_instance(instance, app_huey)
    emitter = Emitter(app_huey, instance.name, None, instance.events.capture_args)
    app_huey.signal(S.SIGNAL_ENQUEUED)(emitter.on_enqueued)
    _flush_at_exit()


_exit_registered = False


def _flush_at_exit() -> None:
    global _exit_registered
    if not _exit_registered:
        _exit_registered = True
        atexit.register(hub().stop)


def reset() -> None:
    """Flush and close every sink of this process and forget the wiring (tests, embedding)."""
    for wired in _WIRED.values():
        if wired.cancel_prune is not None:
            wired.cancel_prune()
    _WIRED.clear()
    hub().stop()
