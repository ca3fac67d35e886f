"""The streaming sinks: Redis pub/sub (the original huey emitter's) and JSON lines to a log.

Each message and each line is exactly one event object (``Event.to_json``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

from jobrunner.events._model import Event

# A sink must never hold the dispatcher for long: short socket timeouts.
REDIS_TIMEOUT = 2.0


def default_channel(instance: str) -> str:
    """The pub/sub channel of ``instance`` when ``events.redis`` names none."""
    return f"jobrunner.events.{instance}"


class RedisSink:
    """``PUBLISH channel <event JSON>`` per event, one pipeline per batch."""

    def __init__(self, client: Any, channel: str, shown: str, *, owned: bool = False) -> None:
        self.client = client
        self.channel = channel
        self.name = f"redis pub/sub {shown} channel {channel}"
        self.owned = owned  # False: huey's client, which huey keeps using

    @classmethod
    def from_url(cls, url: str, channel: str, shown: str) -> RedisSink:
        import redis

        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        return cls(client, channel, shown, owned=True)

    def write(self, events: Sequence[Event]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.publish(self.channel, event.to_json())
        pipe.execute()

    def close(self) -> None:
        if self.owned:
            self.client.close()


class LogSink:
    """One JSON line per event on stdout, stderr or a file (appended, flushed per batch)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.name = f"log {target}"
        self._file: IO[str] | None = None

    def _stream(self) -> IO[str]:
        if self.target == "stdout":
            return sys.stdout
        if self.target == "stderr":
            return sys.stderr
        if self._file is None:
            self._file = open(self.target, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        return self._file

    def write(self, events: Sequence[Event]) -> None:
        stream = self._stream()
        stream.write("".join(event.to_json() + "\n" for event in events))
        stream.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
