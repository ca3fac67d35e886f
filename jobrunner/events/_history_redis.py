"""The history in Redis: capped streams, one for every event and one per filtered value.

``jobrunner:events:<queue>`` holds every event; ``...:task:<name>``,
``...:schedule:<name>`` (outcomes: not started nor enqueued) and ``...:status:<status>``
(not for the frequent started, complete and enqueued) hold the same events again, so
that a filtered query reads only what matches (``XREVRANGE`` on the stream IDs,
which are the server's milliseconds: the time filters cost nothing more). Every
stream is capped at ``keep`` entries (``XADD MAXLEN ~``) and trimmed by age
(``XTRIM MINID ~``); the set ``...:streams`` lists the index streams to trim.
Consumer records are fields of the hash ``jobrunner:consumers:<queue>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huey.storage import RedisStorage

from jobrunner.events._history import ConsumerRecord, History, HistoryQuery
from jobrunner.events._model import ENQUEUED, FREQUENT, STARTED, Event

_PAGE = 500
_UNINDEXED = frozenset({STARTED, ENQUEUED})

# KEYS: the main stream, the set of index streams. ARGV: keep; the events' JSON, one a
# line; their index stream names, one line an event, tab-separated; the new index
# stream names, tab-separated. Two long strings instead of an argument per value:
# packing tens of thousands of arguments cost the dispatcher more than the events.
_WRITE = """
local keep = ARGV[1]
local bodies = {}
for body in string.gmatch(ARGV[2], '[^\\n]+') do bodies[#bodies + 1] = body end
local i = 0
for line in string.gmatch(ARGV[3], '[^\\n]+') do
  i = i + 1
  local body = bodies[i]
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', keep, '*', 'e', body)
  for key in string.gmatch(line, '[^\\t]+') do
    if key ~= '-' then redis.call('XADD', key, 'MAXLEN', '~', keep, '*', 'e', body) end
  end
end
for key in string.gmatch(ARGV[4], '[^\\t]+') do redis.call('SADD', KEYS[2], key) end
return i
"""


class RedisHistory(History):
    def __init__(self, storage: RedisStorage, keep: int = 100_000) -> None:
        self.conn = storage.conn
        self.queue: str = storage.name
        self.name = f"history of queue {storage.name}"
        self.keep = keep
        self.main = f"jobrunner:events:{self.queue}"
        self.streams = f"{self.main}:streams"
        self.records = f"jobrunner:consumers:{self.queue}"
        self._write = self.conn.register_script(_WRITE)

    def setup(self) -> None:
        """Nothing to create: streams appear with their first event."""

    def exists(self) -> bool:
        # Consumer records are written with history off too.
        return bool(self.conn.exists(self.main, self.records))

    def _indexes(self, event: Event) -> list[str]:
        # Frequent statuses get no status stream: a scan of the main stream meets them at
        # once. The task and schedule streams hold outcomes, not started and enqueued
        # (half of all events): what a filtered page of runs shows, at 3 writes a run.
        if event.status in _UNINDEXED:
            return []
        keys = [] if event.status in FREQUENT else [f"{self.main}:status:{event.status}"]
        if event.task is not None:
            keys.append(f"{self.main}:task:{event.task}")
        if event.schedule is not None:
            keys.append(f"{self.main}:schedule:{event.schedule}")
        return keys

    def write(self, events: Sequence[Event]) -> None:
        lines = [self._indexes(event) for event in events]
        seen = {key for keys in lines for key in keys}
        self._write(
            keys=[self.main, self.streams],
            args=[
                self.keep,
                "\n".join(event.to_record() for event in events),
                # '-' first: an event without an index stream still has its line.
                "\n".join("\t".join(["-", *keys]) for keys in lines),
                "\t".join(seen),
            ],
        )

    def _stream(self, query: HistoryQuery) -> str:
        """The shortest stream that holds every match."""
        candidates = [self.main]
        if query.statuses is None or query.statuses & _UNINDEXED:
            return self.main
        if query.task is not None:
            candidates.append(f"{self.main}:task:{query.task}")
        if query.schedule is not None:
            candidates.append(f"{self.main}:schedule:{query.schedule}")
        if query.statuses is not None and len(query.statuses) == 1:
            (status,) = query.statuses
            if status not in FREQUENT:
                candidates.append(f"{self.main}:status:{status}")
        if len(candidates) == 1:
            return self.main
        pipe = self.conn.pipeline(transaction=False)
        for key in candidates[1:]:
            pipe.xlen(key)
        lengths = pipe.execute()
        return min(zip(lengths, candidates[1:], strict=True))[1]

    def query(self, query: HistoryQuery) -> list[Event]:
        key = self._stream(query)
        high: Any = "+" if query.until is None else f"({int(query.until * 1000)}"
        low: Any = "-" if query.since is None else str(int(query.since * 1000))
        found: list[Event] = []
        # A first page the size of the answer, then larger ones while filtering.
        page = min(query.limit, _PAGE)
        while len(found) < query.limit:
            entries = self.conn.xrevrange(key, max=high, min=low, count=page)
            for _entry_id, fields in entries:
                event = Event.from_json(fields[b"e"])
                if query.matches(event):
                    found.append(event)
                    if len(found) == query.limit:
                        break
            if len(entries) < page:
                break
            high = f"({_id(entries[-1][0])}"
            page = _PAGE
        return found

    def cursor(self) -> Any:
        last = self.conn.xrevrange(self.main, count=1)
        return _id(last[0][0]) if last else "0-0"

    def after(self, cursor: Any, limit: int = 1000) -> tuple[list[Event], Any]:
        entries = self.conn.xrange(self.main, min=f"({cursor}", count=limit)
        events = [Event.from_json(fields[b"e"]) for _, fields in entries]
        return events, (_id(entries[-1][0]) if entries else cursor)

    def prune(self, keep: int, max_age: float, now: float) -> int:
        oldest = str(int((now - max_age) * 1000))
        keys = [self.main, *(k.decode() for k in self.conn.smembers(self.streams))]
        pipe = self.conn.pipeline(transaction=False)
        for key in keys:
            # Exact here (approximate trims only whole nodes of about 100 entries).
            pipe.xtrim(key, maxlen=keep, approximate=False)
            pipe.xtrim(key, minid=oldest, approximate=False)
        trimmed = pipe.execute()
        empty = [k for k in keys[1:] if not self.conn.exists(k)]
        if empty:
            self.conn.srem(self.streams, *empty)
        return int(sum(trimmed[0:2]))

    def close(self) -> None:
        """The connection is huey's: it stays open."""

    def beat(self, record: ConsumerRecord) -> None:
        self.conn.hset(self.records, record.id, record.to_json())

    def forget(self, consumer: str) -> None:
        self.conn.hdel(self.records, consumer)

    def consumers(self) -> list[ConsumerRecord]:
        values = self.conn.hgetall(self.records)
        return sorted((ConsumerRecord.from_json(v) for v in values.values()), key=lambda r: r.id)


def _id(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
