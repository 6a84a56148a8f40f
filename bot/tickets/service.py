"""Opening a ticket with the policy's deadlines: the one place every capability does it.

Claims, delays, missing parcels and handoffs all open tickets the same way: the ticket's
level picks the deadlines from the policy (``ticket_deadlines``), measured from now, for
the customer's conversation and channel. Blocking (database); call through
``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import services
from bot.policy.deadlines import ticket_deadlines
from bot.tickets.models import Decision, Ticket, TicketType


@dataclass(frozen=True)
class Requester:
    """Who a ticket is for: the conversation (only it sees the ticket) and its channel."""

    conversation_id: str
    channel: str = "rest"


def open_for(
    requester: Requester,
    *,
    type: TicketType,
    level: int,
    summary: str,
    waybill: str | None = None,
    note: str = "",
) -> Ticket:
    """Open a ticket whose deadlines are the policy's for ``level``, from now.

    Args:
        requester: The customer's conversation and channel.
        type: The ticket type.
        level: 1 (major incident), 2 (urgent) or 3 (general enquiry).
        summary: What the agent reads first (personal data already masked).
        waybill: The parcel, when the ticket is about one.
        note: A first history note.
    """
    return services.tickets().open(
        type=type,
        level=level,
        conversation_id=requester.conversation_id,
        channel=requester.channel,
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), level, services.now()),
        waybill=waybill,
        note=note,
    )


def open_once_per_parcel(
    requester: Requester,
    *,
    type: TicketType,
    level: int,
    summary: str,
    waybill: str,
    decision: Decision | None = None,
) -> tuple[Ticket, bool]:
    """Like :func:`open_for`, unless a ticket of this type exists for the parcel, from anyone.

    Returns:
        The ticket, and ``True`` when it was opened now (``False``: it existed).
    """
    return services.tickets().open_once_per_parcel(
        type=type,
        waybill=waybill,
        decision=decision,
        level=level,
        conversation_id=requester.conversation_id,
        channel=requester.channel,
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), level, services.now()),
    )
