"""The waiting queue for human handoff: conversations wait for an agent, agents claim them.

Waiting conversations are ordered by ticket level (1 = most urgent first), then by the time
they were first enqueued (oldest first), then by conversation id; times count to the
millisecond, so both implementations order alike. A conversation is either *waiting* or
*claimed* by exactly one agent; claiming is atomic, so two agents never get the same chat.

* :class:`InMemoryHandoffQueue`: the embedded default, one process, guarded by a lock.
* :class:`RedisHandoffQueue`: shared by every replica. Each change is one Lua script, so it
  is atomic across threads, processes and hosts. Keys under ``{prefix}:handoff:``:
  ``waiting`` (sorted set of conversation ids, score ``level * 1e13 + enqueued_at`` in epoch
  ms), ``claimed`` (hash conversation id → agent) and ``entry:{conversation_id}`` (hash of
  the entry's fields, datetimes as ISO strings). Scripts build entry keys from the prefix,
  so this needs a single Redis server, not a cluster.

Caps and expiry (both implementations, same contract, numbers from ``policy/limits.yml``
section ``handoff`` through :func:`queue_from_env`):

* One entry per conversation: enqueueing a queued conversation updates it (an upsert).
* ``max_waiting``: at most this many *waiting* entries; enqueueing a new conversation into
  a full queue raises :class:`QueueFull` (updates of queued conversations and requeues by
  an agent always succeed). :meth:`HandoffQueue.is_full` lets the bot check first.
* ``waiting_expiry``: :meth:`HandoffQueue.expire` removes the entries that have been waiting
  that long (since they were enqueued, or since an agent last put them back) and returns
  them, each exactly once even with several replicas sweeping; claimed entries never expire.
  ``connectors/console/expiry.py`` resumes those conversations and tells the customers.
  In Redis the start of the current wait is the entry field ``since_ms``.

Every call is blocking; async callers go through ``asyncio.to_thread``.

Environment (:func:`queue_from_env`):

* ``HANDOFF_REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0``; unset or empty → in memory.
* ``HANDOFF_REDIS_PREFIX``: key prefix, letters, digits, ``-`` and ``_`` (default ``lcs``).
* ``LIMITS_FILE`` (through :func:`bot.policy.limits.limits`): ``handoff.max_waiting`` and
  ``handoff.waiting_expiry_minutes``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

import redis

from bot.policy.limits import limits
from bot.settings import Settings

LEVELS = (1, 2, 3)
DEFAULT_PREFIX = "lcs"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LEVEL_FACTOR = 10**13  # epoch ms stay below this until the year 2286
_PREFIX_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _require_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _require_aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(timezone.utc)


def _epoch_ms(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


class QueueFull(Exception):
    """The queue already holds ``max_waiting`` waiting conversations; a new one was not added."""


def _check_limits(max_waiting: int | None, waiting_expiry: timedelta | None) -> None:
    if max_waiting is not None and (
        not isinstance(max_waiting, int) or isinstance(max_waiting, bool) or max_waiting < 1
    ):
        raise ValueError(f"max_waiting must be a positive whole number or None, got {max_waiting!r}")
    if waiting_expiry is not None and (not isinstance(waiting_expiry, timedelta) or waiting_expiry <= timedelta(0)):
        raise ValueError(f"waiting_expiry must be a positive timedelta or None, got {waiting_expiry!r}")


@dataclass(frozen=True)
class QueueEntry:
    """A conversation handed to humans, waiting or claimed by an agent.

    Attributes:
        conversation_id: Rasa sender id of the conversation.
        channel: Customer channel, e.g. ``rest`` or ``wechat``.
        ticket_id: Ticket the handoff belongs to.
        level: Ticket level, 1 (major incident) to 3 (general enquiry).
        enqueued_at: When the conversation first started waiting (stored as UTC).
        anger: Customer anger score, 0 to 1.
        reason: What triggered the handoff.
        summary: Short summary for the agent.
        agent: Who claimed it; None while waiting.
        claimed_at: When ``agent`` got it; None while waiting.

    Raises:
        ValueError: On a field out of range, an empty id or a naive datetime.
    """

    conversation_id: str
    channel: str
    ticket_id: str
    level: int
    enqueued_at: datetime
    anger: float
    reason: str
    summary: str
    agent: str | None = None
    claimed_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("conversation_id", "channel", "ticket_id", "reason"):
            _require_id(name, getattr(self, name))
        if not isinstance(self.summary, str):
            raise ValueError(f"summary must be a string, got {self.summary!r}")
        if not isinstance(self.level, int) or isinstance(self.level, bool) or self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")
        if isinstance(self.anger, bool) or not isinstance(self.anger, (int, float)) or not 0 <= self.anger <= 1:
            raise ValueError(f"anger must be a number from 0 to 1, got {self.anger!r}")
        enqueued_at = _require_aware("enqueued_at", self.enqueued_at)
        if not 0 <= _epoch_ms(enqueued_at) < _LEVEL_FACTOR:
            raise ValueError(f"enqueued_at out of range: {enqueued_at.isoformat()}")
        object.__setattr__(self, "enqueued_at", enqueued_at)
        object.__setattr__(self, "anger", float(self.anger))
        if (self.agent is None) != (self.claimed_at is None):
            raise ValueError("agent and claimed_at must be both set or both None")
        if self.agent is not None:
            _require_id("agent", self.agent)
            object.__setattr__(self, "claimed_at", _require_aware("claimed_at", self.claimed_at))

    @property
    def order_key(self) -> tuple[int, int, str]:
        """Position in the waiting queue: level, then enqueued_at in epoch ms, then id."""
        return (self.level, _epoch_ms(self.enqueued_at), self.conversation_id)


@runtime_checkable
class HandoffQueue(Protocol):
    """Conversations waiting for a human agent, and the agents holding them."""

    def enqueue(self, entry: QueueEntry) -> QueueEntry:
        """Add a waiting conversation, or update it if already queued; returns the stored entry.

        A conversation already queued keeps its original ``enqueued_at`` (and stays claimed if
        it is); only level, anger, reason and summary are updated.

        Raises:
            QueueFull: The conversation is new and ``max_waiting`` conversations already wait.
        """
        ...

    def is_full(self) -> bool:
        """Whether a new conversation would be refused (``max_waiting`` conversations wait)."""
        ...

    def expire(self, now: datetime | None = None) -> list[QueueEntry]:
        """Remove and return the waiting entries that have waited ``waiting_expiry`` or longer.

        Args:
            now: The time to measure against (aware); default the queue's clock.

        Returns:
            The removed entries in queue order; none without a ``waiting_expiry``.
        """
        ...

    def waiting(self) -> list[QueueEntry]:
        """Waiting entries in queue order (level, then enqueued_at)."""
        ...

    def claimed(self, agent: str | None = None) -> list[QueueEntry]:
        """Claimed entries, of one agent or of all, in queue order."""
        ...

    def get(self, conversation_id: str) -> QueueEntry | None:
        """The entry of a conversation, waiting or claimed; None if not queued."""
        ...

    def claim(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """Give a waiting conversation to ``agent``; None if it is not waiting."""
        ...

    def claim_next(self, agent: str) -> QueueEntry | None:
        """Give the first waiting conversation to ``agent``; None if nobody is waiting."""
        ...

    def transfer(self, conversation_id: str, from_agent: str, to_agent: str) -> QueueEntry | None:
        """Move a claimed conversation to another agent; None unless ``from_agent`` holds it."""
        ...

    def release(self, conversation_id: str) -> QueueEntry | None:
        """Remove a conversation entirely; returns its last entry, None if not queued."""
        ...

    def requeue(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """Put a claimed conversation back at its original place; None unless ``agent`` holds it."""
        ...


def _check_new(entry: QueueEntry) -> None:
    if not isinstance(entry, QueueEntry):
        raise ValueError(f"expected a QueueEntry, got {type(entry).__name__}")
    if entry.agent is not None:
        raise ValueError("enqueue takes an unclaimed entry (agent and claimed_at None)")


def _check_transfer(conversation_id: str, from_agent: str, to_agent: str) -> None:
    _require_id("conversation_id", conversation_id)
    _require_id("from_agent", from_agent)
    _require_id("to_agent", to_agent)
    if from_agent == to_agent:
        raise ValueError("from_agent and to_agent must differ")


class InMemoryHandoffQueue:
    """Handoff queue in process memory, thread-safe; the embedded default.

    Args:
        clock: Returns "now" (aware); injectable for tests.
        max_waiting: Most waiting conversations (None: no cap).
        waiting_expiry: How long a conversation may wait before :meth:`expire` takes it (None: never).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _utcnow,
        max_waiting: int | None = None,
        waiting_expiry: timedelta | None = None,
    ) -> None:
        _check_limits(max_waiting, waiting_expiry)
        self._clock = clock
        self.max_waiting = max_waiting
        self.waiting_expiry = waiting_expiry
        self._lock = threading.Lock()
        self._entries: dict[str, QueueEntry] = {}
        self._since: dict[str, datetime] = {}

    def __repr__(self) -> str:
        return "InMemoryHandoffQueue()"

    def _now(self) -> datetime:
        return _require_aware("clock()", self._clock())

    def enqueue(self, entry: QueueEntry) -> QueueEntry:
        """See :meth:`HandoffQueue.enqueue`."""
        _check_new(entry)
        with self._lock:
            old = self._entries.get(entry.conversation_id)
            if old is not None:
                entry = replace(old, level=entry.level, anger=entry.anger, reason=entry.reason, summary=entry.summary)
            elif self._full():
                raise QueueFull(f"{self.max_waiting} conversations are already waiting")
            else:
                self._since[entry.conversation_id] = entry.enqueued_at
            self._entries[entry.conversation_id] = entry
            return entry

    def _full(self) -> bool:
        if self.max_waiting is None:
            return False
        return sum(1 for e in self._entries.values() if e.agent is None) >= self.max_waiting

    def is_full(self) -> bool:
        """See :meth:`HandoffQueue.is_full`."""
        with self._lock:
            return self._full()

    def expire(self, now: datetime | None = None) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.expire`."""
        when = self._now() if now is None else _require_aware("now", now)
        if self.waiting_expiry is None:
            return []
        cutoff = when - self.waiting_expiry
        with self._lock:
            gone = [
                e for e in self._entries.values()
                if e.agent is None and self._since.get(e.conversation_id, e.enqueued_at) <= cutoff
            ]  # fmt: skip
            for entry in gone:
                del self._entries[entry.conversation_id]
                self._since.pop(entry.conversation_id, None)
        return sorted(gone, key=lambda e: e.order_key)

    def waiting(self) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.waiting`."""
        with self._lock:
            return sorted((e for e in self._entries.values() if e.agent is None), key=lambda e: e.order_key)

    def claimed(self, agent: str | None = None) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.claimed`."""
        if agent is not None:
            _require_id("agent", agent)
        with self._lock:
            found = [e for e in self._entries.values() if e.agent is not None and agent in (None, e.agent)]
        return sorted(found, key=lambda e: e.order_key)

    def get(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.get`."""
        _require_id("conversation_id", conversation_id)
        with self._lock:
            return self._entries.get(conversation_id)

    def claim(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim`."""
        _require_id("conversation_id", conversation_id)
        _require_id("agent", agent)
        now = self._now()
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or entry.agent is not None:
                return None
            return self._set(replace(entry, agent=agent, claimed_at=now))

    def claim_next(self, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim_next`."""
        _require_id("agent", agent)
        now = self._now()
        with self._lock:
            waiting = [e for e in self._entries.values() if e.agent is None]
            if not waiting:
                return None
            first = min(waiting, key=lambda e: e.order_key)
            return self._set(replace(first, agent=agent, claimed_at=now))

    def transfer(self, conversation_id: str, from_agent: str, to_agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.transfer`."""
        _check_transfer(conversation_id, from_agent, to_agent)
        now = self._now()
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or entry.agent != from_agent:
                return None
            return self._set(replace(entry, agent=to_agent, claimed_at=now))

    def release(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.release`."""
        _require_id("conversation_id", conversation_id)
        with self._lock:
            self._since.pop(conversation_id, None)
            return self._entries.pop(conversation_id, None)

    def requeue(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.requeue`."""
        _require_id("conversation_id", conversation_id)
        _require_id("agent", agent)
        now = self._now()
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or entry.agent != agent:
                return None
            self._since[conversation_id] = now  # a new wait starts: expiry counts from here
            return self._set(replace(entry, agent=None, claimed_at=None))

    def _set(self, entry: QueueEntry) -> QueueEntry:
        self._entries[entry.conversation_id] = entry
        return entry


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
        clock: Callable[[], datetime] = _utcnow,
        max_waiting: int | None = None,
        waiting_expiry: timedelta | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
            raise ValueError(f"prefix must be 1-64 letters, digits, '-' or '_' (not starting with - or _): {prefix!r}")
        _check_limits(max_waiting, waiting_expiry)
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
        return _require_aware("clock()", self._clock()).isoformat()

    def is_full(self) -> bool:
        """See :meth:`HandoffQueue.is_full`."""
        return self.max_waiting is not None and int(self.client.zcard(self._waiting_key)) >= self.max_waiting

    def expire(self, now: datetime | None = None) -> list[QueueEntry]:
        """See :meth:`HandoffQueue.expire` (one script: each entry is returned to one caller only)."""
        when = _require_aware("clock()", self._clock()) if now is None else _require_aware("now", now)
        if self.waiting_expiry is None:
            return []
        cutoff = _epoch_ms(when - self.waiting_expiry)
        rows = self._expire(keys=[self._waiting_key, self._claimed_key], args=[self._entry_prefix, cutoff])
        gone = [e for e in map(_from_fields, rows) if e is not None]
        return sorted(gone, key=lambda e: e.order_key)

    def _keys(self, conversation_id: str) -> list[str]:
        return [self._waiting_key, self._claimed_key, self._entry_prefix + conversation_id]

    def enqueue(self, entry: QueueEntry) -> QueueEntry:
        """See :meth:`HandoffQueue.enqueue`."""
        _check_new(entry)
        args = [entry.conversation_id, entry.channel, entry.ticket_id, entry.level, entry.enqueued_at.isoformat(),
                _epoch_ms(entry.enqueued_at), repr(entry.anger), entry.reason, entry.summary,
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
            _require_id("agent", agent)
        return sorted(self._list("claimed", agent or ""), key=lambda e: e.order_key)

    def _list(self, which: str, agent: str) -> list[QueueEntry]:
        rows = self._snapshot(keys=[self._waiting_key, self._claimed_key], args=[self._entry_prefix, which, agent])
        return [e for e in map(_from_fields, rows) if e is not None]

    def get(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.get`."""
        _require_id("conversation_id", conversation_id)
        raw = self.client.hgetall(self._entry_prefix + conversation_id)
        return _from_fields([x for pair in raw.items() for x in pair])

    def claim(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim`."""
        _require_id("conversation_id", conversation_id)
        _require_id("agent", agent)
        return _from_fields(self._claim(keys=self._keys(conversation_id), args=[conversation_id, agent, self._now()]))

    def claim_next(self, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim_next`."""
        _require_id("agent", agent)
        keys = [self._waiting_key, self._claimed_key]
        return _from_fields(self._claim_next(keys=keys, args=[self._entry_prefix, agent, self._now()]))

    def transfer(self, conversation_id: str, from_agent: str, to_agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.transfer`."""
        _check_transfer(conversation_id, from_agent, to_agent)
        keys = self._keys(conversation_id)[1:]
        return _from_fields(self._transfer(keys=keys, args=[conversation_id, from_agent, to_agent, self._now()]))

    def release(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.release`."""
        _require_id("conversation_id", conversation_id)
        return _from_fields(self._release(keys=self._keys(conversation_id), args=[conversation_id]))

    def requeue(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.requeue`."""
        _require_id("conversation_id", conversation_id)
        _require_id("agent", agent)
        now = _epoch_ms(_require_aware("clock()", self._clock()))
        return _from_fields(self._requeue(keys=self._keys(conversation_id), args=[conversation_id, agent, now]))


def queue_from_env(env: Mapping[str, str] | None = None) -> HandoffQueue:
    """Build the handoff queue the environment asks for; nothing connects yet.

    The cap and the expiry are ``handoff.max_waiting`` and ``handoff.waiting_expiry_minutes``
    of the limits file (:func:`bot.policy.limits.limits`).

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`: ``HANDOFF_REDIS_URL`` (else ``REDIS_URL``)
            and ``HANDOFF_REDIS_PREFIX``.

    Returns:
        A :class:`RedisHandoffQueue` if ``HANDOFF_REDIS_URL`` or ``REDIS_URL`` is set, else an
        :class:`InMemoryHandoffQueue`.

    Raises:
        ValueError: On a malformed URL or prefix, or a cap that is not a whole number.
        KeyError: The limits file lacks one of the two numbers.
    """
    configured = limits()
    cap = configured.number("handoff.max_waiting")
    if not isinstance(cap, int):
        raise ValueError(f"handoff.max_waiting must be a whole number, got {cap!r}")
    expiry = timedelta(minutes=configured.number("handoff.waiting_expiry_minutes"))
    configured_env = Settings.from_env(env)
    url = configured_env.handoff_redis_url
    if not url:
        return InMemoryHandoffQueue(max_waiting=cap, waiting_expiry=expiry)
    prefix = configured_env.handoff_redis_prefix
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)
    return RedisHandoffQueue(client, prefix, max_waiting=cap, waiting_expiry=expiry)
