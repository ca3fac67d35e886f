"""At-least-once on Redis: an atomic move into a per-consumer processing list, Lua for the rest.

huey's queue is a list (LPUSH to enqueue, BRPOP to dequeue). A worker takes a message
with one Lua script: it moves the message from the queue into
``huey.inflight.<queue>.<consumer>`` (one atomic server-side step, so there is no moment
when the message is in neither) and writes the take's name and the message to the worker's
take record, ``huey.taken.<queue>.<worker>``. The same script acknowledges the finished
tasks (``LREM`` of their items) and clears their revoke flags
(``jobrunner/_revoke_flags.py``): one round trip per task. When the queue is empty the worker
waits with ``BLMOVE queue queue RIGHT RIGHT`` (a no-op move that blocks until a message
arrives), then takes with the script: an answer lost in the wait loses nothing, and a take
whose answer was lost (the connection dropped after the script ran) is found by its name in
the record and put back (``release_lost``), instead of staying in flight until the live
consumer stops.

Consumer leases are a sorted set ``huey.leases.<queue>`` scored by expiry time,
read from the Redis server's clock (``TIME`` inside Lua), so clocks of the
consumer machines do not matter. Putting messages back, burying them and
recovering a dead consumer are Lua scripts, hence atomic.

``priority-redis`` keeps its queue in a sorted set; there is no blocking move
out of a sorted set, so the script pops and records in one step and the worker
polls like huey does for non-blocking storages. The in-flight item is
``<score>\\n<member>`` so the message goes back with its priority and place.

Before Redis 6.2 (no ``BLMOVE``) the wait is ``BRPOPLPUSH`` into the in-flight list, whose
lost answer is only put back when the consumer stops.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from huey.storage import RedisPriorityQueue, RedisStorage

from jobrunner._enqueue_stamp import restamp
from jobrunner.delivery._store import (
    LEASE_RETENTION,
    DeadLetter,
    Recovered,
    Store,
    Taken,
    Token,
)

_PUSH_LIST = r"""
local function push(queue, item)
  redis.call('RPUSH', queue, item)
end
"""

_PUSH_ZSET = r"""
local function push(queue, item)
  local cut = string.find(item, '\n', 1, true)
  redis.call('ZADD', queue, string.sub(item, 1, cut - 1), string.sub(item, cut + 1))
end
"""

_NOW = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: leases. ARGV: consumer, lease seconds. 0 new, 1 was valid, 2 had expired.
_RENEW = (
    _NOW
    + r"""
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], string.format('%.6f', now + tonumber(ARGV[2])), ARGV[1])
if not old then return 0 end
if tonumber(old) >= now then return 1 end
return 2
"""
)

# KEYS: leases, queue. ARGV: in-flight key prefix, retention seconds.
# Newest in-flight item first, each pushed at the dequeue end: the oldest runs first.
_RECOVER = (
    _NOW
    + r"""
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',
                           '(' .. string.format('%.6f', now), 'WITHSCORES')
local out = {}
for i = 1, #expired, 2 do
  local consumer = expired[i]
  local key = ARGV[1] .. consumer
  local n = 0
  local item = redis.call('LPOP', key)
  while item do
    push(KEYS[2], item)
    n = n + 1
    item = redis.call('LPOP', key)
  end
  if n > 0 then
    table.insert(out, consumer)
    table.insert(out, n)
  end
  if tonumber(expired[i + 1]) < now - tonumber(ARGV[2]) then
    redis.call('ZREM', KEYS[1], consumer)
  end
end
return out
"""
)

# KEYS: in-flight list, queue. ARGV: item.
_RELEASE = r"""
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  push(KEYS[2], ARGV[1])
  return 1
end
return 0
"""

# KEYS: in-flight list, queue, leases. ARGV: consumer. The lease is left expired (not
# removed) so that a message a worker still moves in after this is recovered too.
_RETIRE = (
    r"""
local n = 0
local item = redis.call('LPOP', KEYS[1])
while item do
  push(KEYS[2], item)
  n = n + 1
  item = redis.call('LPOP', KEYS[1])
end
"""
    + _NOW
    + r"""
redis.call('ZADD', KEYS[3], string.format('%.6f', now - 0.001), ARGV[1])
return n
"""
)

# KEYS: in-flight list, dead letters hash, dead letter counter. ARGV: item, header, data.
_BURY = r"""
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
local id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], id, ARGV[2] .. '\0' .. ARGV[3])
return id
"""

# A take also writes what it moved to the worker's take record, ``<taker>\n<item>`` (one
# key per worker, overwritten by its next take, gone a day after its last): a take whose
# answer was lost is then put back by its name (release_lost).
_RECORD_TTL = 86400

# KEYS: queue, in-flight list, huey's result hash, take record. ARGV: how many items of
# finished tasks follow, those items, then keys to clear, then the taker.
_SETTLE = r"""
local acks = tonumber(ARGV[1])
for i = 2, acks + 1 do redis.call('LREM', KEYS[2], 1, ARGV[i]) end
for i = acks + 2, #ARGV - 1 do redis.call('HDEL', KEYS[3], ARGV[i]) end
local function record(item)
  if ARGV[#ARGV] == '' then return end
  redis.call('SET', KEYS[4], ARGV[#ARGV] .. '\n' .. item, 'EX', RECORD_TTL)
end
""".replace("RECORD_TTL", str(_RECORD_TTL))

_TAKE_LIST = (
    _SETTLE
    + r"""
local item = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
if not item then return false end
record(item)
return item
"""
)

_TAKE_ZSET = (
    _SETTLE
    + r"""
local r = redis.call('ZPOPMIN', KEYS[1])
if #r == 0 then return false end
local item = r[2] .. '\n' .. r[1]
redis.call('LPUSH', KEYS[2], item)
record(item)
return item
"""
)

# KEYS: take record, in-flight list, queue. ARGV: taker.
_RELEASE_LOST = r"""
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local cut = string.find(record, '\n', 1, true)
if string.sub(record, 1, cut - 1) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local item = string.sub(record, cut + 1)
if redis.call('LREM', KEYS[2], 1, item) == 1 then
  push(KEYS[3], item)
  return 1
end
return 0
"""


class RedisStore(Store):
    """In-flight lists, leases and dead letters beside a huey ``RedisStorage`` queue."""

    _push = _PUSH_LIST
    records_takers = True

    def __init__(self, storage: RedisStorage) -> None:
        self.storage = storage
        self.conn: Any = storage.conn  # redis-py stubs type values as str; ours are bytes
        name = storage.name
        self.queue = storage.queue_key
        self.inflight_prefix = f"huey.inflight.{name}."
        self.taken_prefix = f"huey.taken.{name}."
        # huey's result hash, where revoke flags are cleared. ``redis-expire`` keeps each
        # result in a key of its own (_clear_apart); the script is then given a key it does
        # not touch.
        result_key = storage.result_key
        self._result_hash = result_key if isinstance(result_key, str | bytes) else None
        self.leases = f"huey.leases.{name}"
        self.dead = f"huey.dead.{name}"
        self.dead_seq = f"huey.dead.{name}.seq"
        self.blocking = bool(storage.blocking)
        self.read_timeout = float(storage.read_timeout or 1)
        self._has_blmove = True
        register: Callable[[str], Any] = self.conn.register_script
        self._renew = register(_RENEW)
        self._recover = register(self._push + _RECOVER)
        self._release = register(self._push + _RELEASE)
        self._retire = register(self._push + _RETIRE)
        self._bury = register(_BURY)
        self._take_script = register(_TAKE_LIST)
        self._release_lost = register(self._push + _RELEASE_LOST)

    def _inflight(self, consumer: str) -> str:
        return self.inflight_prefix + consumer

    def setup(self) -> None:
        info = self.conn.info("server")
        try:
            version = tuple(int(p) for p in str(info["redis_version"]).split(".")[:2])
        except (KeyError, ValueError):
            version = (6, 2)
        # BLMOVE arrived in Redis 6.2; BRPOPLPUSH is the same move (right to left) before it.
        self._has_blmove = version >= (6, 2)

    def renew(self, consumer: str, lease: float) -> int:
        return int(self._renew(keys=[self.leases], args=[consumer, lease]))

    def take(
        self,
        consumer: str,
        acks: Sequence[Token],
        clears: Sequence[str] = (),
        taker: str | None = None,
    ) -> Taken | None:
        key = self._inflight(consumer)
        item = self._take_now(key, acks, clears, taker)
        if item is None and self.blocking:
            try:
                if self._has_blmove:
                    # Wait without taking (a move of the queue's last item onto its own end
                    # changes nothing), then take with the recorded take: an answer lost
                    # here loses nothing.
                    if self.conn.blmove(
                        self.queue, self.queue, self.read_timeout, "RIGHT", "RIGHT"
                    ):
                        item = self._take_now(key, (), (), taker)
                else:
                    item = self.conn.brpoplpush(self.queue, key, self.read_timeout)
            except redis.TimeoutError:
                return None  # an empty queue read by a client with a short socket_timeout
        if item is None:
            return None
        return self._taken(item)

    def _take_now(
        self, key: str, acks: Sequence[Token], clears: Sequence[str], taker: str | None
    ) -> Any:
        # Without a taker nothing is recorded; KEYS[4] is then a key the script never writes.
        record = self._record(taker) if taker is not None else self.taken_prefix
        clears = self._clear_apart(clears)
        return self._take_script(
            keys=[self.queue, key, self._result_hash or self.queue, record],
            args=[len(acks), *acks, *clears, taker or ""],
        )

    def _clear_apart(self, clears: Sequence[str]) -> Sequence[str]:
        """Delete ``clears`` now where results are keys of their own; what is left to clear
        in huey's result hash."""
        if clears and self._result_hash is None:
            self.conn.delete(*(self.storage.result_key(k) for k in clears))
            return ()
        return clears

    def _record(self, taker: str) -> str:
        """The take record of ``taker``'s worker (a taker is ``<worker>:<count>``)."""
        return self.taken_prefix + (taker.rpartition(":")[0] or taker)

    def release_lost(self, consumer: str, taker: str) -> int:
        return int(
            self._release_lost(
                keys=[self._record(taker), self._inflight(consumer), self.queue], args=[taker]
            )
        )

    def _taken(self, item: bytes) -> Taken:
        return Taken(token=item, data=item)

    def ack(self, consumer: str, tokens: Sequence[Token], clears: Sequence[str] = ()) -> None:
        if not tokens and not clears:
            return
        key = self._inflight(consumer)
        clears = self._clear_apart(clears)
        pipe = self.conn.pipeline(transaction=False)
        if clears:
            pipe.hdel(self._result_hash, *clears)
        for token in tokens:
            pipe.lrem(key, 1, token)
        pipe.execute()

    def release(self, consumer: str, token: Token) -> bool:
        return bool(self._release(keys=[self._inflight(consumer), self.queue], args=[token]))

    def bury(self, consumer: str, taken: Taken, task: str | None, reason: str, when: float) -> int:
        letter = DeadLetter(0, task, reason, when, consumer, taken.data, taken.priority)
        return int(
            self._bury(
                keys=[self._inflight(consumer), self.dead, self.dead_seq],
                args=[taken.token, letter.header(), taken.data],
            )
        )

    def recover(self) -> list[Recovered]:
        out = self._recover(
            keys=[self.leases, self.queue], args=[self.inflight_prefix, LEASE_RETENTION]
        )
        return [
            Recovered(consumer=_text(out[i]), count=int(out[i + 1])) for i in range(0, len(out), 2)
        ]

    def retire(self, consumer: str) -> int:
        return int(
            self._retire(keys=[self._inflight(consumer), self.queue, self.leases], args=[consumer])
        )

    def in_flight(self) -> dict[str, int]:
        consumers = [_text(c) for c in self.conn.zrange(self.leases, 0, -1)]
        pipe = self.conn.pipeline(transaction=False)
        for consumer in consumers:
            pipe.llen(self._inflight(consumer))
        counts = pipe.execute() if consumers else []
        return {c: int(n) for c, n in zip(consumers, counts, strict=True) if n}

    def dead_letters(self) -> list[DeadLetter]:
        letters = [_letter(int(key), value) for key, value in self.conn.hgetall(self.dead).items()]
        return sorted(letters, key=lambda letter: letter.id)

    def requeue(self, id: int) -> DeadLetter | None:
        found: list[DeadLetter] = []

        def move(pipe: Any) -> None:
            found.clear()
            value = pipe.hget(self.dead, id)
            if value is None:
                return
            letter = _letter(id, value)
            pipe.multi()
            pipe.hdel(self.dead, id)
            # A requeue is an enqueue: the start delay counts from now (docs/events.md).
            self._enqueue(pipe, restamp(letter.data, time.time()), letter.priority)
            found.append(letter)

        self.conn.transaction(move, self.dead)
        return found[0] if found else None

    def _enqueue(self, pipe: Any, data: bytes, priority: float) -> None:
        # huey's RedisStorage.enqueue, inside our transaction.
        pipe.lpush(self.queue, data)

    def purge(self) -> int:
        pipe = self.conn.pipeline(transaction=True)
        pipe.hlen(self.dead)
        pipe.delete(self.dead)
        count, _ = pipe.execute()
        return int(count)


class PriorityRedisStore(RedisStore):
    """The same over a ``PriorityRedisStorage`` sorted-set queue (taken by polling)."""

    _push = _PUSH_ZSET

    def __init__(self, storage: RedisStorage) -> None:
        super().__init__(storage)
        self.blocking = False  # no blocking pop-and-move out of a sorted set: poll
        self._take_script = self.conn.register_script(_TAKE_ZSET)

    def _taken(self, item: bytes) -> Taken:
        score, _, member = item.partition(b"\n")
        return Taken(token=item, data=member[8:], priority=-float(score))

    def _enqueue(self, pipe: Any, data: bytes, priority: float) -> None:
        # huey's RedisPriorityQueue.enqueue, inside our transaction.
        prefix = struct.pack(">Q", int(time.time() * 1e6))
        pipe.zadd(self.queue, {prefix + data: -priority if priority else 0})


def redis_store(storage: RedisStorage) -> RedisStore:
    """The store for ``storage``: list queue or priority (sorted set) queue."""
    if isinstance(storage, RedisPriorityQueue):
        return PriorityRedisStore(storage)
    return RedisStore(storage)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _letter(id: int, value: bytes) -> DeadLetter:
    header, _, data = value.partition(b"\0")
    return DeadLetter.from_header(id, header, data)
