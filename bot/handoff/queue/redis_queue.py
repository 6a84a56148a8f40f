"""The handoff queue shared through Redis: every change is one atomic Lua script.

Keys under ``{prefix}:handoff:``: ``waiting`` (sorted set of conversation ids, score
``level * 1e13 + enqueued_at`` in epoch ms), ``claimed`` (hash conversation id → agent) and
``entry:{conversation_id}`` (hash of the entry's fields, datetimes as ISO strings; the start of
the current wait is the field ``since_ms``). Scripts build entry keys from the prefix, so this
needs a single Redis server, not a cluster.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Callable

import redis

from bot.handoff.queue.model import (
    QueueEntry,
    QueueFull,
    check_limits,
    check_new,
    check_transfer,
    epoch_ms,
    require_aware,
    require_id,
    utcnow,
)

DEFAULT_PREFIX = "lcs"
_PREFIX_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


# Lua: KEYS and ARGV as listed above each script. Scores are level * 1e13 + enqueued_ms.
# KEYS: waiting, claimed, entry; ARGV: conversation_id, channel, ticket_id, level, enqueued_at,
# enqueued_ms, anger, reason, summary, max_waiting (-1 = no cap). Returns 'FULL' when refused.
_ENQUEUE = """
local waiting, claimed, key, cid = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
if redis.call('EXISTS', key) == 0 then
  local cap = tonumber(ARGV[10])
  if cap >= 0 and redis.call('ZCARD', waiting) >= cap then return 'FULL' end
  redis.call('HSET', key, 'conversation_id', cid, 'channel', ARGV[2], 'ticket_id', ARGV[3],
    'enqueued_at', ARGV[5], 'enqueued_ms', ARGV[6], 'since_ms', ARGV[6])
end
redis.call('HSET', key, 'level', ARGV[4], 'anger', ARGV[7], 'reason', ARGV[8], 'summary', ARGV[9])
if redis.call('HEXISTS', claimed, cid) == 0 then
  local ms = tonumber(redis.call('HGET', key, 'enqueued_ms'))
  redis.call('ZADD', waiting, tonumber(ARGV[4]) * 1e13 + ms, cid)
end
return redis.call('HGETALL', key)
"""
# KEYS: waiting, claimed, entry; ARGV: conversation_id, agent, claimed_at
_CLAIM = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], 'agent', ARGV[2], 'claimed_at', ARGV[3])
return redis.call('HGETALL', KEYS[3])
"""
# KEYS: waiting, claimed; ARGV: entry key prefix, agent, claimed_at
_CLAIM_NEXT = """
while true do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then return false end
  local key = ARGV[1] .. popped[1]
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', KEYS[2], popped[1], ARGV[2])
    redis.call('HSET', key, 'agent', ARGV[2], 'claimed_at', ARGV[3])
    return redis.call('HGETALL', key)
  end
end
"""
# KEYS: claimed, entry; ARGV: conversation_id, from_agent, to_agent, claimed_at
_TRANSFER = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], 'agent', ARGV[3], 'claimed_at', ARGV[4])
return redis.call('HGETALL', KEYS[2])
"""
# KEYS: waiting, claimed, entry; ARGV: conversation_id
_RELEASE = """
local fields = redis.call('HGETALL', KEYS[3])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if #fields == 0 then return false end
return fields
"""
# KEYS: waiting, claimed, entry; ARGV: conversation_id, agent, now in epoch ms
_REQUEUE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return false end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], 'agent', 'claimed_at')
redis.call('HSET', KEYS[3], 'since_ms', ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[3], 'level'))
local ms = tonumber(redis.call('HGET', KEYS[3], 'enqueued_ms'))
redis.call('ZADD', KEYS[1], level * 1e13 + ms, ARGV[1])
return redis.call('HGETALL', KEYS[3])
"""
# KEYS: waiting, claimed; ARGV: entry key prefix, 'waiting' or 'claimed', agent ('' = any)
_SNAPSHOT = """
local out = {}
local function add(cid)
  local fields = redis.call('HGETALL', ARGV[1] .. cid)
  if #fields > 0 then out[#out + 1] = fields end
end
if ARGV[2] == 'waiting' then
  for _, cid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do add(cid) end
else
  local pairs_ = redis.call('HGETALL', KEYS[2])
  for i = 1, #pairs_, 2 do
    if ARGV[3] == '' or pairs_[i + 1] == ARGV[3] then add(pairs_[i]) end
  end
end
return out
"""


# KEYS: waiting, claimed; ARGV: entry key prefix, cutoff in epoch ms. Removes and returns the waiting
# entries whose current wait started at or before the cutoff (entries of older versions: enqueued_ms).
_EXPIRE = """
local out = {}
for _, cid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. cid
  local since = redis.call('HGET', key, 'since_ms') or redis.call('HGET', key, 'enqueued_ms')
  if not since then
    redis.call('ZREM', KEYS[1], cid)
  elseif tonumber(since) <= tonumber(ARGV[2]) then
    out[#out + 1] = redis.call('HGETALL', key)
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], cid)
    redis.call('HDEL', KEYS[2], cid)
  end
end
return out
"""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _from_fields(raw: list[Any] | None) -> QueueEntry | None:
    if not raw:
        return None
    fields = {_text(raw[i]): _text(raw[i + 1]) for i in range(0, len(raw), 2)}
    claimed_at = fields.get("claimed_at")
    return QueueEntry(
        conversation_id=fields["conversation_id"],
        channel=fields["channel"],
        ticket_id=fields["ticket_id"],
        level=int(fields["level"]),
        enqueued_at=datetime.fromisoformat(fields["enqueued_at"]),
        anger=float(fields["anger"]),
        reason=fields["reason"],
        summary=fields["summary"],
        agent=fields.get("agent"),
        claimed_at=datetime.fromisoformat(claimed_at) if claimed_at else None,
    )


class RedisHandoffQueue:
    """Handoff queue shared through Redis; every change is one atomic Lua script.

    Args:
        client: A ``redis.Redis`` client (``decode_responses`` either way). Nothing is sent
            until the first call.
        prefix: Key prefix; every key is ``{prefix}:handoff:...``.
        clock: Returns "now" (aware); injectable for tests.
        max_waiting: Most waiting conversations (None: no cap).
        waiting_expiry: How long a conversation may wait before :meth:`expire` takes it (None: never).

    Raises:
        ValueError: If the prefix is not 1-64 letters, digits, ``-`` or ``_``, or a limit is not positive.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_waiting: int | None = None,
        waiting_expiry: timedelta | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
            raise ValueError(f"prefix must be 1-64 letters, digits, '-' or '_' (not starting with - or _): {prefix!r}")
        check_limits(max_waiting, waiting_expiry)
        self.client = client
        self.prefix = prefix
        self.max_waiting = max_waiting
        self.waiting_expiry = waiting_expiry
        self._clock = clock
        base = f"{prefix}:handoff:"
        self._waiting_key, self._claimed_key, self._entry_prefix = base + "waiting", base + "claimed", base + "entry:"
        self._enqueue = client.register_script(_ENQUEUE)
        self._claim = client.register_script(_CLAIM)
        self._claim_next = client.register_script(_CLAIM_NEXT)
        self._transfer = client.register_script(_TRANSFER)
        self._release = client.register_script(_RELEASE)
        self._requeue = client.register_script(_REQUEUE)
        self._snapshot = client.register_script(_SNAPSHOT)
        self._expire = client.register_script(_EXPIRE)

    def __repr__(self) -> str:
        return f"RedisHandoffQueue(prefix={self.prefix!r})"

    def _now(self) -> str:
        return require_aware("clock()", self._clock()).isoformat()

    def is_full(self) -> bool:
        """See :meth:`HandoffQueue.is_full`."""
        return self.max_waiting is not None and int(self.client.zcard(self._waiting_key)) >= self.max_waiting

    def expire(self, now: datetime | None = None) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.expire` (one script: each entry is returned to one caller only)."""
        when = require_aware("clock()", self._clock()) if now is None else require_aware("now", now)
        if self.waiting_expiry is None:
            return []
        cutoff = epoch_ms(when - self.waiting_expiry)
        rows = self._expire(keys=[self._waiting_key, self._claimed_key], args=[self._entry_prefix, cutoff])
        gone = [e for e in map(_from_fields, rows) if e is not None]
        return sorted(gone, key=lambda e: e.order_key)

    def _keys(self, conversation_id: str) -> list[str]:
        return [self._waiting_key, self._claimed_key, self._entry_prefix + conversation_id]

    def enqueue(self, entry: QueueEntry) -> QueueEntry:
        """See :meth:`HandoffQueue.enqueue`."""
        check_new(entry)
        args = [entry.conversation_id, entry.channel, entry.ticket_id, entry.level, entry.enqueued_at.isoformat(),
                epoch_ms(entry.enqueued_at), repr(entry.anger), entry.reason, entry.summary,
                -1 if self.max_waiting is None else self.max_waiting]  # fmt: skip
        raw = self._enqueue(keys=self._keys(entry.conversation_id), args=args)
        if isinstance(raw, (bytes, str)) and _text(raw) == "FULL":
            raise QueueFull(f"{self.max_waiting} conversations are already waiting")
        stored = _from_fields(raw)
        if stored is None:  # the script always returns the stored hash
            raise RuntimeError(f"enqueue of {entry.conversation_id!r} stored nothing")
        return stored

    def waiting(self) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.waiting`."""
        return self._list("waiting", "")

    def claimed(self, agent: str | None = None) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.claimed`."""
        if agent is not None:
            require_id("agent", agent)
        return sorted(self._list("claimed", agent or ""), key=lambda e: e.order_key)

    def _list(self, which: str, agent: str) -> list[QueueEntry]:
        rows = self._snapshot(keys=[self._waiting_key, self._claimed_key], args=[self._entry_prefix, which, agent])
        return [e for e in map(_from_fields, rows) if e is not None]

    def get(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.get`."""
        require_id("conversation_id", conversation_id)
        raw = self.client.hgetall(self._entry_prefix + conversation_id)
        return _from_fields([x for pair in raw.items() for x in pair])

    def claim(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim`."""
        require_id("conversation_id", conversation_id)
        require_id("agent", agent)
        return _from_fields(self._claim(keys=self._keys(conversation_id), args=[conversation_id, agent, self._now()]))

    def claim_next(self, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim_next`."""
        require_id("agent", agent)
        keys = [self._waiting_key, self._claimed_key]
        return _from_fields(self._claim_next(keys=keys, args=[self._entry_prefix, agent, self._now()]))

    def transfer(self, conversation_id: str, from_agent: str, to_agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.transfer`."""
        check_transfer(conversation_id, from_agent, to_agent)
        keys = self._keys(conversation_id)[1:]
        return _from_fields(self._transfer(keys=keys, args=[conversation_id, from_agent, to_agent, self._now()]))

    def release(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.release`."""
        require_id("conversation_id", conversation_id)
        return _from_fields(self._release(keys=self._keys(conversation_id), args=[conversation_id]))

    def requeue(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.requeue`."""
        require_id("conversation_id", conversation_id)
        require_id("agent", agent)
        now = epoch_ms(require_aware("clock()", self._clock()))
        return _from_fields(self._requeue(keys=self._keys(conversation_id), args=[conversation_id, agent, now]))
