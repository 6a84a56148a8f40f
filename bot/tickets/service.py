"""Opening a ticket with the policy's deadlines: the one place every capability does it.

Claims, delays, missing parcels and handoffs all open tickets the same way: the ticket's
level picks the deadlines from the policy (``ticket_deadlines``), measured from now, for
the customer's conversation and channel. Blocking (database); call through
``asyncio.to_thread`` from async code.

A ticket about a parcel also watches the parcel for the conversation
(:meth:`bot.proactive.store.ProactiveStore.watch`, in the requester's language), so the
customer hears about it before asking again. The watch has no baseline: its first scan
announces only what needs the customer (held, exception, failed delivery), unless a
look-up already set one (a watch refreshed keeps its baseline). A failing proactive store
is logged and never stops the ticket.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot import services
from bot.policy.deadlines import ticket_deadlines
from bot.proactive import watches
from bot.proactive.store import DEFAULT_RETENTION
from bot.tickets.models import Decision, Ticket, TicketType

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requester:
    """Who a ticket is for: the conversation (only it sees the ticket), its channel and language.

    ``language`` (``zh`` or ``en``) is the language of the parcel notices the ticket's watch sends.
    """

    conversation_id: str
    channel: str = "rest"
    language: str = "zh"


def watch_parcel(requester: Requester, waybill: str | None) -> bool:
    """Watch the ticket's parcel for the requester's conversation (blocking); ``False`` when not stored.

    Never raises: a store or policy failure is logged (no personal data) and the ticket stands.
    """
    if not waybill:
        return False
    now = services.now()
    try:
        retention = services.policy().proactive.watch_retention
    except (OSError, ValueError) as exc:
        logger.error("proactive policy unavailable: %s", type(exc).__name__)
        retention = DEFAULT_RETENTION
    try:
        watches.store().watch(
            requester.conversation_id, requester.channel, waybill, requester.language, now, retention=retention
        )
    except Exception as exc:  # never break opening the ticket
        logger.error("could not watch a ticket's parcel: %s", type(exc).__name__)
        return False
    return True


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

    The parcel, when given, is watched for the conversation (:func:`watch_parcel`).

    Args:
        requester: The customer's conversation, channel and language.
        type: The ticket type.
        level: 1 (major incident), 2 (urgent) or 3 (general enquiry).
        summary: What the agent reads first (personal data already masked).
        waybill: The parcel, when the ticket is about one.
        note: A first history note.
    """
    ticket = services.tickets().open(
        type=type,
        level=level,
        conversation_id=requester.conversation_id,
        channel=requester.channel,
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), level, services.now()),
        waybill=waybill,
        note=note,
    )
    watch_parcel(requester, waybill)
    return ticket


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
        The ticket, and ``True`` when it was opened now (``False``: it existed). A ticket
        opened now watches the parcel for the conversation (:func:`watch_parcel`).
    """
    ticket, new = services.tickets().open_once_per_parcel(
        type=type,
        waybill=waybill,
        decision=decision,
        level=level,
        conversation_id=requester.conversation_id,
        channel=requester.channel,
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), level, services.now()),
    )
    if new:
        watch_parcel(requester, waybill)
    return ticket, new
