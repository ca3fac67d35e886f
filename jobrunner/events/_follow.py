"""Following the live stream: Redis pub/sub where an instance publishes, elsewhere its
history as it grows (polled), like ``celery events`` or ``tail -f``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from jobrunner.config.model import InstanceConfig
from jobrunner.events._history import History
from jobrunner.events._model import Event
from jobrunner.events._sinks import REDIS_TIMEOUT, default_channel

POLL = 0.25


class _PubSub:
    def __init__(self, instance: InstanceConfig, client: Any) -> None:
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(instance.events.channel or default_channel(instance.name))

    def poll(self, wait: float) -> list[Event]:
        events: list[Event] = []
        message = self.pubsub.get_message(timeout=wait)
        while message is not None:
            if message.get("type") == "message":
                events.append(Event.from_json(message["data"]))
            message = self.pubsub.get_message(timeout=0)
        return events

    def close(self) -> None:
        self.pubsub.close()


class _Tail:
    def __init__(self, history: History) -> None:
        self.history = history
        # No history yet (no consumer ever ran): everything written later is new.
        self.cursor: Any = history.cursor() if history.exists() else None

    def poll(self, wait: float) -> list[Event]:
        if self.cursor is None and self.history.exists():
            self.cursor = 0 if not isinstance(self.history.cursor(), str) else "0-0"
        events: list[Event] = []
        if self.cursor is not None:
            events, self.cursor = self.history.after(self.cursor)
        if not events and wait:
            time.sleep(wait)
        return events

    def close(self) -> None:
        self.history.close()


def source_for(instance: InstanceConfig, storage: Any, history: History | None) -> Any:
    """Where to follow ``instance``: its pub/sub channel, else its history; None if neither."""
    config = instance.events
    if config.redis:
        if config.redis_url is not None:
            import redis

            client = redis.Redis.from_url(config.redis_url, socket_connect_timeout=REDIS_TIMEOUT)
        else:
            client = storage.conn
        return _PubSub(instance, client)
    if history is not None:
        return _Tail(history)
    return None


def follow(
    sources: Sequence[Any],
    task: str | None = None,
    timeout: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[Event]:
    """Events from ``sources`` as they come, oldest first; stops after ``timeout`` seconds,
    or between two polls once ``stop()`` is true."""
    deadline = None if timeout is None else time.monotonic() + timeout
    wait = POLL / max(len(sources), 1)
    try:
        while deadline is None or time.monotonic() < deadline:
            if stop is not None and stop():
                return
            for source in sources:
                for event in source.poll(wait):
                    if task is None or event.task == task:
                        yield event
    finally:
        for source in sources:
            source.close()


def _source(instance: InstanceConfig, storage: Any) -> Any:
    from jobrunner.events._history import history_for

    return source_for(instance, storage, history_for(storage))


def sources_of(config: Any, open_huey: Any, only: str | None = None) -> list[Any]:
    """What to follow for each instance of ``config`` (or ``only``); ``open_huey(name)``."""
    from jobrunner.errors import JobRunnerError, UnknownNameError
    from jobrunner.status import guarded

    instances = config.instances
    if only is not None and only not in instances:
        raise UnknownNameError("instance", only, instances)
    sources = []
    for name, instance in instances.items():
        if (only is not None and name != only) or instance.immediate:
            continue
        storage = open_huey(name).storage
        source = guarded(instance, partial(_source, instance, storage))
        if source is not None:
            sources.append(source)
    if not sources:
        raise JobRunnerError(
            "no instance publishes events or keeps a history; set events: {redis: true} "
            "or events: {history: true} on one (docs/events.md)"
        )
    return sources
