"""The handoff queue in process memory: the embedded default, one process, guarded by a lock."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Callable

from bot.handoff.queue.model import (
    QueueEntry,
    QueueFull,
    check_limits,
    check_new,
    check_transfer,
    require_aware,
    require_id,
    utcnow,
)


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
        clock: Callable[[], datetime] = utcnow,
        max_waiting: int | None = None,
        waiting_expiry: timedelta | None = None,
    ) -> None:
        check_limits(max_waiting, waiting_expiry)
        self._clock = clock
        self.max_waiting = max_waiting
        self.waiting_expiry = waiting_expiry
        self._lock = threading.Lock()
        self._entries: dict[str, QueueEntry] = {}
        self._since: dict[str, datetime] = {}

    def __repr__(self) -> str:
        return "InMemoryHandoffQueue()"

    def _now(self) -> datetime:
        return require_aware("clock()", self._clock())

    def enqueue(self, entry: QueueEntry) -> QueueEntry:
        """See :meth:`HandoffQueue.enqueue`."""
        check_new(entry)
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
        when = self._now() if now is None else require_aware("now", now)
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
            require_id("agent", agent)
        with self._lock:
            found = [e for e in self._entries.values() if e.agent is not None and agent in (None, e.agent)]
        return sorted(found, key=lambda e: e.order_key)

    def get(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.get`."""
        require_id("conversation_id", conversation_id)
        with self._lock:
            return self._entries.get(conversation_id)

    def claim(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim`."""
        require_id("conversation_id", conversation_id)
        require_id("agent", agent)
        now = self._now()
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or entry.agent is not None:
                return None
            return self._set(replace(entry, agent=agent, claimed_at=now))

    def claim_next(self, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.claim_next`."""
        require_id("agent", agent)
        now = self._now()
        with self._lock:
            waiting = [e for e in self._entries.values() if e.agent is None]
            if not waiting:
                return None
            first = min(waiting, key=lambda e: e.order_key)
            return self._set(replace(first, agent=agent, claimed_at=now))

    def transfer(self, conversation_id: str, from_agent: str, to_agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.transfer`."""
        check_transfer(conversation_id, from_agent, to_agent)
        now = self._now()
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or entry.agent != from_agent:
                return None
            return self._set(replace(entry, agent=to_agent, claimed_at=now))

    def release(self, conversation_id: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.release`."""
        require_id("conversation_id", conversation_id)
        with self._lock:
            self._since.pop(conversation_id, None)
            return self._entries.pop(conversation_id, None)

    def requeue(self, conversation_id: str, agent: str) -> QueueEntry | None:
        """See :meth:`HandoffQueue.requeue`."""
        require_id("conversation_id", conversation_id)
        require_id("agent", agent)
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
