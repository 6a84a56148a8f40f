"""The handoff queue's parts every implementation shares: the entry, the contract, the checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

LEVELS = (1, 2, 3)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
LEVEL_FACTOR = 10**13  # epoch ms stay below this until the year 2286
"""Sorted-set scores are ``level * LEVEL_FACTOR + enqueued_at`` in epoch ms."""


def utcnow() -> datetime:
    """The current time in UTC (the queues' default clock)."""
    return datetime.now(timezone.utc)


def require_id(name: str, value: object) -> str:
    """``value`` if it is a non-empty string, else ``ValueError`` naming ``name``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def require_aware(name: str, value: object) -> datetime:
    """``value`` in UTC if it is an aware datetime, else ``ValueError`` naming ``name``."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(timezone.utc)


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch (the queues order and expire to the millisecond)."""
    return (value - EPOCH) // timedelta(milliseconds=1)


class QueueFull(Exception):
    """The queue already holds ``max_waiting`` waiting conversations; a new one was not added."""


def check_limits(max_waiting: int | None, waiting_expiry: timedelta | None) -> None:
    """Refuse a cap or an expiry that is not positive (``None``: none)."""
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
            require_id(name, getattr(self, name))
        if not isinstance(self.summary, str):
            raise ValueError(f"summary must be a string, got {self.summary!r}")
        if not isinstance(self.level, int) or isinstance(self.level, bool) or self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")
        if isinstance(self.anger, bool) or not isinstance(self.anger, (int, float)) or not 0 <= self.anger <= 1:
            raise ValueError(f"anger must be a number from 0 to 1, got {self.anger!r}")
        enqueued_at = require_aware("enqueued_at", self.enqueued_at)
        if not 0 <= epoch_ms(enqueued_at) < LEVEL_FACTOR:
            raise ValueError(f"enqueued_at out of range: {enqueued_at.isoformat()}")
        object.__setattr__(self, "enqueued_at", enqueued_at)
        object.__setattr__(self, "anger", float(self.anger))
        if (self.agent is None) != (self.claimed_at is None):
            raise ValueError("agent and claimed_at must be both set or both None")
        if self.agent is not None:
            require_id("agent", self.agent)
            object.__setattr__(self, "claimed_at", require_aware("claimed_at", self.claimed_at))

    @property
    def order_key(self) -> tuple[int, int, str]:
        """Position in the waiting queue: level, then enqueued_at in epoch ms, then id."""
        return (self.level, epoch_ms(self.enqueued_at), self.conversation_id)


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


def check_new(entry: QueueEntry) -> None:
    """Refuse anything but an unclaimed :class:`QueueEntry` for ``enqueue``."""
    if not isinstance(entry, QueueEntry):
        raise ValueError(f"expected a QueueEntry, got {type(entry).__name__}")
    if entry.agent is not None:
        raise ValueError("enqueue takes an unclaimed entry (agent and claimed_at None)")


def check_transfer(conversation_id: str, from_agent: str, to_agent: str) -> None:
    """Refuse a transfer with a missing id or to the agent who holds it already."""
    require_id("conversation_id", conversation_id)
    require_id("from_agent", from_agent)
    require_id("to_agent", to_agent)
    if from_agent == to_agent:
        raise ValueError("from_agent and to_agent must differ")
