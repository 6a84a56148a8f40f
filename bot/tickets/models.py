"""Ticket data model: types, statuses, the status state machine and value objects.

Plain dataclasses and enums, no database code: :mod:`bot.tickets.store` turns
rows into these objects and back. Every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Mapping, Protocol, TypedDict


class TicketType(str, Enum):
    """What a ticket is about."""

    DAMAGE_CLAIM = "damage_claim"
    MISSING = "missing"
    DELAY = "delay"
    COMPLAINT = "complaint"
    HANDOFF = "handoff"
    GENERAL = "general"


class TicketStatus(str, Enum):
    """Where a ticket is in its life."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(str, Enum):
    """What a history entry records."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    EVIDENCE_ADDED = "evidence_added"
    DECISION_SET = "decision_set"
    NOTE_ADDED = "note_added"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    PROGRESS_UPDATE = "progress_update"


#: Allowed status changes; anything not listed raises :class:`InvalidTransition`.
TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.IN_PROGRESS}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.WAITING_CUSTOMER: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.IN_PROGRESS}),
    TicketStatus.CLOSED: frozenset(),
}

LEVELS = (1, 2, 3)
TICKET_ID_RE = re.compile(r"^TK-\d{8}-\d{4,}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class TicketError(Exception):
    """Base class of every ticket store error."""


class TicketNotFound(TicketError, LookupError):
    """No ticket has the given id."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"unknown ticket {ticket_id!r}")
        self.ticket_id = ticket_id


class InvalidTransition(TicketError, ValueError):
    """The state machine does not allow this status change."""

    def __init__(self, ticket_id: str, from_status: TicketStatus, to_status: TicketStatus) -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[from_status])) or "none"
        super().__init__(
            f"ticket {ticket_id}: cannot go from {from_status.value} to {to_status.value} (allowed: {allowed})"
        )
        self.ticket_id = ticket_id
        self.from_status = from_status
        self.to_status = to_status


class TicketClosed(TicketError):
    """A closed ticket cannot take new evidence or decisions."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id} is closed")
        self.ticket_id = ticket_id


def check_transition(ticket_id: str, from_status: TicketStatus, to_status: TicketStatus) -> None:
    """Raise unless the state machine allows ``from_status`` → ``to_status``.

    Args:
        ticket_id: Used in the error message only.
        from_status: Current status.
        to_status: Wanted status.

    Raises:
        InvalidTransition: The change is not in :data:`TRANSITIONS`.
    """
    if to_status not in TRANSITIONS[from_status]:
        raise InvalidTransition(ticket_id, from_status, to_status)


def ensure_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` converted to UTC, refusing naive datetimes.

    Args:
        value: An aware datetime.
        name: Field name used in the error message.

    Raises:
        ValueError: ``value`` has no timezone.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(timezone.utc)


def required_text(value: str, name: str, max_len: int) -> str:
    """Return ``value`` stripped, refusing an empty or too long text.

    Args:
        value: The text (``None`` counts as empty).
        name: Field name used in the error message.
        max_len: Most characters allowed.

    Raises:
        ValueError: Empty after stripping, or longer than ``max_len``.
    """
    value = (value or "").strip()
    if not value:
        raise ValueError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")
    return value


class DeadlinesLike(Protocol):
    """Anything carrying SLA deadlines, e.g. the policy engine's own result."""

    @property
    def respond_by(self) -> datetime: ...  # noqa: D102

    @property
    def resolve_by(self) -> datetime: ...  # noqa: D102

    @property
    def escalate_by(self) -> datetime | None: ...  # noqa: D102

    @property
    def update_after(self) -> datetime | None: ...  # noqa: D102


@dataclass(frozen=True)
class Deadlines:
    """SLA deadlines of a ticket, computed by the policy engine (aware datetimes).

    Attributes:
        respond_by: First human/bot response due.
        resolve_by: Resolution due.
        escalate_by: Escalation to management due (level 1 and 2), if any.
        update_after: Proactive progress update due if still open (level 3), if any.
    """

    respond_by: datetime
    resolve_by: datetime
    escalate_by: datetime | None = None
    update_after: datetime | None = None


class _NewTicketRequired(TypedDict):
    type: TicketType | str
    level: int
    conversation_id: str
    channel: str
    summary: str
    deadlines: DeadlinesLike


class NewTicket(_NewTicketRequired, total=False):
    """The fields a ticket is opened with, as keyword arguments of ``TicketStore.open``.

    The one definition of them: :meth:`~bot.tickets.store.TicketStore.open_once_per_parcel`
    takes the same, and :func:`bot.tickets.store.ticket_columns` checks them.

    Attributes:
        type: A :class:`TicketType` or its value.
        level: 1 (major incident), 2 (urgent) or 3 (general enquiry).
        conversation_id: The customer's sender id; only they see the ticket.
        channel: Channel the customer uses (``wechat``, ``telegram``, ``web``...).
        summary: Short description for agents (phone numbers are masked when stored).
        deadlines: SLA deadlines from the policy engine (aware datetimes).
        waybill: Waybill number, if the ticket is about a shipment (default none).
        actor: Who opens it, for the history (default ``bot``).
        note: History note (default empty).
    """

    waybill: str | None
    actor: str
    note: str


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence already stored by the evidence store.

    Attributes:
        sha256: Hex SHA-256 of the content (lower case); unique per ticket.
        kind: What it shows, e.g. ``outer_packaging``, ``contents``, ``receipt``.
        path: Where the evidence store keeps it.
        size: Size in bytes.
        content_type: MIME type detected from the content.
    """

    sha256: str
    kind: str
    path: str
    size: int
    content_type: str

    def __post_init__(self) -> None:
        if not _SHA256_RE.match(self.sha256):
            raise ValueError(f"sha256 must be 64 lower-case hex digits, got {self.sha256!r}")
        if self.size < 0:
            raise ValueError(f"size must not be negative, got {self.size}")
        if not self.kind or not self.path or not self.content_type:
            raise ValueError("kind, path and content_type must not be empty")


@dataclass(frozen=True)
class Decision:
    """The policy decision on a ticket.

    Attributes:
        kind: E.g. ``reship``, ``pay_insured_value``, ``freight_coupon``, ``refund``, ``human``.
        amount: Amount in yuan, at most two decimal places (exact ``Decimal``).
        reason_code: Machine-readable reason, e.g. ``damage_over_5pct``.
    """

    kind: str
    amount: Decimal
    reason_code: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f"amount must be a finite Decimal, got {self.amount!r}")
        if self.amount < 0:
            raise ValueError(f"amount must not be negative, got {self.amount}")
        exponent = self.amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise ValueError(f"amount has more than two decimal places: {self.amount}")
        if abs(self.amount) >= Decimal("1e12"):
            raise ValueError(f"amount too large: {self.amount}")
        if not self.kind or not self.reason_code:
            raise ValueError("kind and reason_code must not be empty")


UNRESOLVED: frozenset[TicketStatus] = frozenset(
    {TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER}
)
"""Statuses whose deadlines still count (escalation and overdue marking look only at these)."""


@dataclass(frozen=True)
class Ticket:
    """A customer-service ticket as stored.

    ``overdue_at``, ``escalated_at`` and ``progress_updated_at`` are what
    :mod:`bot.tickets.escalation` did: when the ticket was first found past a deadline,
    when it was escalated, and when the latest progress update went to the customer.
    """

    id: str
    type: TicketType
    level: int
    status: TicketStatus
    conversation_id: str
    channel: str
    waybill: str | None
    summary: str
    respond_by: datetime
    resolve_by: datetime
    escalate_by: datetime | None
    update_after: datetime | None
    decision: Decision | None
    created_at: datetime
    updated_at: datetime
    evidence: tuple[EvidenceItem, ...] = field(default=())
    overdue_at: datetime | None = None
    escalated_at: datetime | None = None
    progress_updated_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a ticket's append-only history."""

    id: int
    ticket_id: str
    at: datetime
    actor: str
    action: Action
    from_status: TicketStatus | None
    to_status: TicketStatus | None
    note: str
